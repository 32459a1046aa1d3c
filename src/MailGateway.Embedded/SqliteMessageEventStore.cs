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
        if (events.Count != 0)
        {
            Insert(connection, transaction, Encode(events));
        }
    }

    /// <summary>The rows of <paramref name="events"/>, their JSON encoded now (by the caller, before it queues the write).</summary>
    internal static IReadOnlyList<EncodedEvent> Encode(IReadOnlyList<MessageEvent> events)
    {
        var encoded = new EncodedEvent[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            encoded[i] = new EncodedEvent(events[i], JsonSerializer.SerializeToUtf8Bytes(events[i], EmbeddedJsonContext.Default.MessageEvent));
        }

        return encoded;
    }

    /// <summary>Writes the encoded <paramref name="events"/> in the caller's transaction (the state change's).</summary>
    internal static void Insert(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<EncodedEvent> events)
    {
        _ = transaction;
        // Kept prepared on the writer's connection and bound by position: every accept and state change runs it.
        var statement = SqliteStatements.Raw(connection, "INSERT INTO events (owner, message_id, type, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5)");
        foreach (var (item, body) in events)
        {
            statement.Text(1, item.Owner);
            statement.Text(2, item.MessageId);
            statement.Text(3, item.Type);
            statement.Integer(4, UnixTime.Ms(item.Time));
            statement.Text(5, body);
            statement.Run();
        }
    }
}

/// <summary>An event and its stored JSON (UTF-8), encoded before the write reaches the single writer.</summary>
internal sealed record EncodedEvent(MessageEvent Event, byte[] Body);
