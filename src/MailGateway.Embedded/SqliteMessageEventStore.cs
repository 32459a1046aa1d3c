using System.Globalization;
using System.Text;
using System.Text.Json;
using MailGateway.Core.Events;
using Microsoft.Data.Sqlite;

namespace MailGateway.Embedded;

/// <summary>
/// The event log in the SQLite database (table <c>events</c>): rows are inserted by <see cref="SqliteMessageStatusStore"/>
/// and <see cref="SqliteMessageAcceptor"/> inside the transaction of the state change itself. The sequence is SQLite's
/// <c>AUTOINCREMENT</c> key; all writes go through the one writer, so sequences become visible in increasing order.
/// </summary>
public sealed class SqliteMessageEventStore(SqliteDatabase database) : IMessageEventStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<MessageEvent>> ReadAsync(MessageEventQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT seq, body FROM events WHERE seq > $after");
        command.Parameters.AddWithValue("$after", query.After);
        if (query.Owner is not null)
        {
            sql.Append(" AND owner = $owner");
            command.Parameters.AddWithValue("$owner", query.Owner);
        }

        if (query.MessageId is not null)
        {
            sql.Append(" AND message_id = $message");
            command.Parameters.AddWithValue("$message", query.MessageId);
        }

        if (query.Types is { Count: > 0 } types)
        {
            sql.Append(" AND type IN (");
            for (var i = 0; i < types.Count; i++)
            {
                var name = "$type" + i.ToString(CultureInfo.InvariantCulture);
                sql.Append(i == 0 ? name : "," + name);
                command.Parameters.AddWithValue(name, types[i]);
            }

            sql.Append(')');
        }

        sql.Append(" ORDER BY seq LIMIT $limit");
        command.Parameters.AddWithValue("$limit", query.Limit);
        command.CommandText = sql.ToString();
        var events = new List<MessageEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var stored = JsonSerializer.Deserialize(reader.GetString(1), EmbeddedJsonContext.Default.MessageEvent)
                ?? throw new InvalidDataException("Empty event.");
            events.Add(stored with { Sequence = reader.GetInt64(0) });
        }

        return events;
    }

    /// <summary>Writes <paramref name="events"/> in the caller's transaction (the state change's).</summary>
    internal static void Insert(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<MessageEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        // Kept prepared on the writer's connection (SqliteStatements): every accept and state change runs it.
        var command = SqliteStatements.Get(connection, transaction,
            "INSERT INTO events (owner, message_id, type, created_at, body) VALUES ($owner, $message, $type, $created, $body)",
            ("$owner", SqliteType.Text), ("$message", SqliteType.Text), ("$type", SqliteType.Text), ("$created", SqliteType.Integer), ("$body", SqliteType.Text));
        var (owner, message, type, created, body) = (command.Parameters[0], command.Parameters[1], command.Parameters[2], command.Parameters[3], command.Parameters[4]);
        foreach (var item in events)
        {
            owner.Value = item.Owner;
            message.Value = item.MessageId;
            type.Value = item.Type;
            created.Value = UnixTime.Ms(item.Time);
            body.Value = JsonSerializer.Serialize(item, EmbeddedJsonContext.Default.MessageEvent);
            command.ExecuteNonQuery();
        }
    }
}
