using System.Globalization;
using System.Text;
using System.Text.Json;
using MailGateway.Core.Events;
using MailGateway.Core.Status;
using Microsoft.Data.Sqlite;
using static MailGateway.Embedded.SqliteMessageStatusStore;

namespace MailGateway.Embedded;

/// <summary>
/// Search and cancel on the SQLite database. The list walks one of the <c>created_at</c> indexes newest first
/// (keyset: <c>created_at, id</c> below the cursor), narrowed by owner and state through the index; tag, recipient
/// and sender are checked on the stored record of each row the index yields, so they do not make a page cheaper
/// to find. A cancel is one transaction of the single writer — the conditional state change and the removal of the
/// waiting job — serialized with the worker's begin-sending step, which then finds a final state.
/// </summary>
public sealed class SqliteMessageOperations(SqliteDatabase database, TimeProvider time) : IMessageOperations
{
    /// <inheritdoc />
    public async Task<MessagePage> ListAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, MessageQuery.MaxLimit);
        var where = new List<string>();
        var parameters = new List<(string, object)>();
        if (query.Owner is { } owner)
        {
            where.Add("owner = $owner");
            parameters.Add(("$owner", owner));
        }

        if (query.State is { } state)
        {
            where.Add("state = $state");
            parameters.Add(("$state", state.ToString()));
        }

        if (query.Since is { } since)
        {
            where.Add("created_at >= $since");
            parameters.Add(("$since", UnixTime.Ms(since)));
        }

        if (query.Until is { } until)
        {
            where.Add("created_at < $until");
            parameters.Add(("$until", UnixTime.Ms(until)));
        }

        if (query.After is { } after)
        {
            // A row value, not "a < x OR (a = x AND b < y)": SQLite turns only the row value into a range of the index.
            where.Add("(created_at, id) < ($afterCreated, $afterId)");
            parameters.Add(("$afterCreated", after.CreatedAtMs));
            parameters.Add(("$afterId", after.Id));
        }

        if (query.Tag is { } tag)
        {
            where.Add("EXISTS (SELECT 1 FROM json_each(record, '$.tags') WHERE value = $tag)");
            parameters.Add(("$tag", tag));
        }

        if (query.Recipient is { } recipient)
        {
            where.Add("EXISTS (SELECT 1 FROM json_each(record, '$.envelope.recipients') WHERE lower(value) = $recipient)");
            parameters.Add(("$recipient", recipient.ToLowerInvariant()));
        }

        if (query.From is { } from)
        {
            where.Add("lower(json_extract(record, '$.envelope.mailFrom')) = $from");
            parameters.Add(("$from", from.ToLowerInvariant()));
        }

        var sql = new StringBuilder("SELECT record FROM messages");
        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where);
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY created_at DESC, id DESC LIMIT {limit + 1}");

        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = Command(connection, null, sql.ToString(), [.. parameters]);
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new List<MessageRecord>(limit + 1);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(JsonSerializer.Deserialize(reader.GetString(0), EmbeddedJsonContext.Default.MessageRecord)
                ?? throw new InvalidDataException("Empty status record."));
        }

        if (items.Count <= limit)
        {
            return new MessagePage(items, null);
        }

        items.RemoveAt(limit);
        return new MessagePage(items, MessageCursor.Of(items[^1]));
    }

    /// <inheritdoc />
    public Task<CancelResult> CancelAsync(string id, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var now = time.GetUtcNow();
        return database.WriteAsync((connection, transaction) => Cancel(connection, transaction, id, reason, now), cancellationToken);
    }

    private static CancelResult Cancel(SqliteConnection connection, SqliteTransaction transaction, string id, string reason, DateTimeOffset now)
    {
        var record = Read(connection, transaction, id);
        if (record is null)
        {
            return new CancelResult(CancelOutcome.NotFound, null);
        }

        if (!record.State.IsCancelable())
        {
            return new CancelResult(CancelOutcome.NotCancelable, record);
        }

        var canceled = record with { State = MessageState.Canceled, UpdatedAt = now, NextAttemptAt = null, LastReply = reason };

        // Conditional on the state read above: the single writer serializes this with the worker's begin-sending step,
        // the condition keeps it correct even without that.
        using (var update = Command(connection, transaction,
                   "UPDATE messages SET state = $state, updated_at = $updated, record = $record WHERE id = $id AND state IN ('Queued', 'Scheduled', 'Deferred')",
                   ("$id", id), ("$state", canceled.State.ToString()), ("$updated", UnixTime.Ms(now)),
                   ("$record", JsonSerializer.Serialize(canceled, EmbeddedJsonContext.Default.MessageRecord))))
        {
            if (update.ExecuteNonQuery() != 1)
            {
                return new CancelResult(CancelOutcome.NotCancelable, record);
            }
        }

        // The canceled event in the same transaction as the change (the outbox).
        SqliteMessageEventStore.Insert(connection, transaction, MessageEvents.ForState(canceled));

        // The waiting job goes with it. A job a worker holds right now (leased, lease not ended) stays: that worker's
        // begin-sending step finds the message canceled and completes the job without sending.
        using var delete = Command(connection, transaction,
            "DELETE FROM jobs WHERE message_id = $id AND (lease_token IS NULL OR visible_at <= $now)",
            ("$id", id), ("$now", UnixTime.Ms(now)));
        delete.ExecuteNonQuery();
        return new CancelResult(CancelOutcome.Canceled, canceled);
    }
}
