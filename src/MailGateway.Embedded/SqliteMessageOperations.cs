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
/// (keyset: <c>created_at, id</c> below the cursor), narrowed by owner and state through the index; a recipient, tag
/// or sender filter walks instead its side table (<c>message_recipients</c>, <c>message_tags</c>,
/// <c>message_senders</c>: value, created_at, id; see <see cref="SqliteDatabase"/>), so a page costs about its rows
/// whatever share of the messages match. A cancel is one transaction of the single writer — the conditional state change and the removal of the
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

        // A recipient, tag or sender filter walks its side table newest first (a key's search: the (owner, value,
        // created_at, id) index; every key's: the primary key (value, created_at, id)) and looks each row up in
        // messages; the state is checked on that row, the other two filters by a point lookup in their side tables.
        // Without one, or with a state rarer than the value (StateIsRarerAsync), the walk is one of the created_at
        // indexes of messages and every filter a point lookup.
        var filters = new List<(string Table, string Column, string Parameter, string Value)>();
        if (query.Recipient is { } recipient)
        {
            filters.Add(("message_recipients", "address", "$recipient", recipient.ToLowerInvariant()));
        }

        if (query.Tag is { } tag)
        {
            filters.Add(("message_tags", "tag", "$tag", tag));
        }

        if (query.From is { } from)
        {
            filters.Add(("message_senders", "address", "$from", from.ToLowerInvariant()));
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        var drive = filters.Count > 0 && (query.State is not { } probedState
            || !await StateIsRarerAsync(connection, filters[0], query.Owner, probedState, cancellationToken));
        var sql = new StringBuilder();
        var key = "m";
        if (drive)
        {
            var (table, column, parameter, value) = filters[0];
            sql.Append(CultureInfo.InvariantCulture, $"SELECT m.record FROM {table} AS f CROSS JOIN messages AS m ON m.id = f.id");
            where.Add($"f.{column} = {parameter}");
            parameters.Add((parameter, value));
            key = "f";
        }
        else
        {
            sql.Append("SELECT m.record FROM messages AS m");
        }

        if (drive && query.Owner is { } filterOwner)
        {
            // Makes the walk the side table's (owner, value, created_at, id) index: only this key's rows.
            where.Add("f.owner = $owner");
            parameters.Add(("$owner", filterOwner));
        }

        foreach (var (table, column, parameter, value) in filters.Skip(drive ? 1 : 0))
        {
            where.Add($"EXISTS (SELECT 1 FROM {table} AS s WHERE s.{column} = {parameter} AND s.created_at = m.created_at AND s.id = m.id)");
            parameters.Add((parameter, value));
        }

        if (!drive && query.Owner is { } owner)
        {
            where.Add("m.owner = $owner");
            parameters.Add(("$owner", owner));
        }

        if (query.State is { } state)
        {
            where.Add("m.state = $state");
            parameters.Add(("$state", state.ToString()));
        }

        if (query.Since is { } since)
        {
            where.Add($"{key}.created_at >= $since");
            parameters.Add(("$since", UnixTime.Ms(since)));
        }

        if (query.Until is { } until)
        {
            where.Add($"{key}.created_at < $until");
            parameters.Add(("$until", UnixTime.Ms(until)));
        }

        if (query.After is { } after)
        {
            // A row value, not "a < x OR (a = x AND b < y)": SQLite turns only the row value into a range of the index.
            where.Add($"({key}.created_at, {key}.id) < ($afterCreated, $afterId)");
            parameters.Add(("$afterCreated", after.CreatedAtMs));
            parameters.Add(("$afterId", after.Id));
        }

        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where);
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY {key}.created_at DESC, {key}.id DESC LIMIT {limit + 1}");

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

    /// <summary>
    /// True when the state's rows (of the key) are fewer than <see cref="ProbeLimit"/> and the side table's rows of the
    /// value are not: then the walk is the state's index, with the value looked up per row (a common sender with a
    /// rare state would otherwise walk all of the sender's rows). Two bounded counts, each at most that many index
    /// entries.
    /// </summary>
    private async Task<bool> StateIsRarerAsync(SqliteConnection connection, (string Table, string Column, string Parameter, string Value) filter, string? owner, MessageState state, CancellationToken cancellationToken)
    {
        var ownerCondition = owner is null ? string.Empty : " AND owner = $owner";
        using var side = Command(connection, null,
            $"SELECT count(*) FROM (SELECT 1 FROM {filter.Table} WHERE {filter.Column} = $value{ownerCondition} LIMIT {ProbeLimit})",
            ("$value", filter.Value), ("$owner", owner ?? string.Empty));
        if ((long)(await side.ExecuteScalarAsync(cancellationToken))! < ProbeLimit)
        {
            return false;
        }

        using var states = Command(connection, null,
            $"SELECT count(*) FROM (SELECT 1 FROM messages WHERE state = $state{ownerCondition} LIMIT {ProbeLimit})",
            ("$state", state.ToString()), ("$owner", owner ?? string.Empty));
        return (long)(await states.ExecuteScalarAsync(cancellationToken))! < ProbeLimit;
    }

    /// <summary>The bound of the two counts of <see cref="StateIsRarerAsync"/> (a test makes it small).</summary>
    internal int ProbeLimit { get; init; } = 2000;

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
