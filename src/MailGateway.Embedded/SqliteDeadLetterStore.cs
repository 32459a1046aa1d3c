using System.Globalization;
using System.Text;
using System.Text.Json;
using MailGateway.Core.Events;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Data.Sqlite;
using static MailGateway.Embedded.SqliteMessageStatusStore;

namespace MailGateway.Embedded;

/// <summary>
/// The dead letters of the SQLite queue (table <c>dead_letters</c>, id = its row number), with the owner from the
/// message's status record. A replay is one transaction of the single writer — read the row, enqueue the next
/// attempt, move the record back to <c>deferred</c>, delete the row — so of two replays of the same dead letter only
/// the first finds the row.
/// </summary>
public sealed class SqliteDeadLetterStore(SqliteDatabase database, SqliteDeliveryQueue queue, IMessageContentStore content, TimeProvider time) : IDeadLetterStore
{
    private const string Select = """
        SELECT d.seq, d.message_id, coalesce(m.owner, ''), d.reason, d.description, d.attempt, d.delivery_count, d.dead_lettered_at, d.body
        FROM dead_letters d LEFT JOIN messages m ON m.id = d.message_id
        """;

    /// <inheritdoc />
    public async Task<DeadLetterPage> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, DeadLetterQuery.MaxLimit);
        var where = new List<string>();
        var parameters = new List<(string, object)>();
        if (query.Owner is { } owner)
        {
            where.Add("m.owner = $owner");
            parameters.Add(("$owner", owner));
        }

        if (query.Reason is { } reason)
        {
            where.Add("d.reason = $reason");
            parameters.Add(("$reason", reason));
        }

        if (query.Since is { } since)
        {
            where.Add("d.dead_lettered_at >= $since");
            parameters.Add(("$since", UnixTime.Ms(since)));
        }

        if (query.Until is { } until)
        {
            where.Add("d.dead_lettered_at < $until");
            parameters.Add(("$until", UnixTime.Ms(until)));
        }

        if (query.After is { } after && long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            where.Add("d.seq < $after");
            parameters.Add(("$after", seq));
        }

        var sql = new StringBuilder(Select);
        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where);
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY d.seq DESC LIMIT {limit + 1}");
        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = Command(connection, null, sql.ToString(), [.. parameters]);
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new List<DeadLetterEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(ReadEntry(reader));
        }

        if (items.Count <= limit)
        {
            return new DeadLetterPage(items, null);
        }

        items.RemoveAt(limit);
        return new DeadLetterPage(items, items[^1].Id);
    }

    /// <inheritdoc />
    public async Task<DeadLetterEntry?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var seq))
        {
            return null;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = Command(connection, null, Select + " WHERE d.seq = $seq", ("$seq", seq));
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadEntry(reader) : null;
    }

    /// <inheritdoc />
    public async Task<ReplayResult> ReplayAsync(string id, string reason, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var seq))
        {
            return new ReplayResult(ReplayOutcome.NotFound);
        }

        var now = time.GetUtcNow();
        var result = await database.WriteAsync((connection, transaction) => Replay(connection, transaction, seq, reason, now), cancellationToken);
        if (result.Outcome == ReplayOutcome.Replayed)
        {
            queue.Signal();
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<bool> PurgeAsync(string id, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var seq))
        {
            return false;
        }

        var body = await database.WriteAsync((connection, transaction) =>
        {
            using var delete = Command(connection, transaction, "DELETE FROM dead_letters WHERE seq = $seq RETURNING body", ("$seq", seq));
            return delete.ExecuteScalar() as string;
        }, cancellationToken);
        if (body is null)
        {
            return false;
        }

        if (TryRead(body) is { } job)
        {
            await content.DeleteAsync(job.ContentReference, cancellationToken);
        }

        return true;
    }

    private static ReplayResult Replay(SqliteConnection connection, SqliteTransaction transaction, long seq, string reason, DateTimeOffset now)
    {
        using var find = Command(connection, transaction, "SELECT body FROM dead_letters WHERE seq = $seq", ("$seq", seq));
        if (find.ExecuteScalar() is not string body)
        {
            return new ReplayResult(ReplayOutcome.NotFound);
        }

        if (TryRead(body) is not { } dead || Read(connection, transaction, dead.MessageId) is not { } record)
        {
            return new ReplayResult(ReplayOutcome.NotReplayable);
        }

        // A new attempt: numbered after every earlier one, its maximum-age clock restarted now and without the
        // caller's deadline (an operator's replay is the decision to try again).
        var job = dead with { Attempt = Math.Max(dead.Attempt, record.Attempts.Count) + 1, FirstSeen = now, ExpiresAt = null };
        if (!SqliteDeliveryQueue.Insert(connection, transaction, job, now, now))
        {
            return new ReplayResult(ReplayOutcome.NotReplayable);
        }

        // Deferred, not queued: a queued message counts as waiting for its first attempt, which an idempotent resend
        // of the original request would enqueue a second time.
        var replayed = record with { State = MessageState.Deferred, UpdatedAt = now, NextAttemptAt = now, LastReply = reason };
        using (var update = Command(connection, transaction,
                   "UPDATE messages SET state = $state, updated_at = $updated, record = $record WHERE id = $id",
                   ("$id", record.Id), ("$state", replayed.State.ToString()), ("$updated", UnixTime.Ms(now)),
                   ("$record", JsonSerializer.Serialize(replayed, EmbeddedJsonContext.Default.MessageRecord))))
        {
            update.ExecuteNonQuery();
        }

        // The replay is a state change like any other: its deferred event (reply: who replayed it) in the same transaction.
        SqliteMessageEventStore.Insert(connection, transaction, MessageEvents.ForState(replayed));

        using var delete = Command(connection, transaction, "DELETE FROM dead_letters WHERE seq = $seq", ("$seq", seq));
        delete.ExecuteNonQuery();
        return new ReplayResult(ReplayOutcome.Replayed, job);
    }

    private static DeadLetterEntry ReadEntry(SqliteDataReader reader) => new(
        reader.GetInt64(0).ToString(CultureInfo.InvariantCulture),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        reader.GetString(4),
        reader.GetInt32(5),
        reader.GetInt32(6),
        UnixTime.From(reader.GetInt64(7)),
        TryRead(reader.GetString(8)));

    private static DeliveryJob? TryRead(string body)
    {
        try
        {
            return DeliveryJobSerializer.Deserialize(body);
        }
        catch (MalformedDeliveryJobException)
        {
            return null;
        }
    }

    private static bool TryParseId(string? id, out long seq)
    {
        seq = 0;
        return id is { Length: > 0 and <= 19 } && long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out seq) && seq > 0;
    }
}
