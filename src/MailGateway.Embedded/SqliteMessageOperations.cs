using System.Globalization;
using System.Text;
using System.Text.Json;
using MailGateway.Core.Events;
using MailGateway.Core.Status;
using Microsoft.Data.Sqlite;
using static MailGateway.Embedded.SqliteMessageStatusStore;

namespace MailGateway.Embedded;

/// <summary>
/// Search and cancel on the SQLite database. The list walks newest first (keyset: <c>created_at, id</c> below the
/// cursor) either one of the <c>created_at</c> indexes of <c>messages</c>, narrowed by owner and state through the
/// index, or — with a recipient, tag or sender filter — that filter's range of <c>message_filters</c>
/// (<see cref="SqliteListFilters"/>), so a page costs about its rows whatever share of the messages match. A cancel is one transaction of the single writer — the conditional state change and the removal of the
/// waiting job — serialized with the worker's begin-sending step, which then finds a final state.
/// </summary>
public sealed class SqliteMessageOperations(SqliteDatabase database, TimeProvider time) : IMessageOperations
{
    /// <inheritdoc />
    public async Task<MessagePage> ListAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, MessageQuery.MaxLimit);
        var filters = FiltersOf(query);
        await using var connection = await database.OpenAsync(cancellationToken);
        var drive = await ChooseWalkAsync(connection, query, filters, cancellationToken);
        var (sql, parameters) = ListSql(query, filters, drive, limit);
        using var command = Command(connection, null, sql, parameters);
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

    /// <summary>The recipient, tag and sender filters of <paramref name="query"/> as (kind, value) of <c>message_filters</c>.</summary>
    internal static List<(string Kind, string Value)> FiltersOf(MessageQuery query)
    {
        var filters = new List<(string Kind, string Value)>();
        if (query.Recipient is { } recipient)
        {
            filters.Add((SqliteListFilters.Recipient, MessageListAddress.Normalize(recipient)));
        }

        if (query.Tag is { } tag)
        {
            filters.Add((SqliteListFilters.Tag, tag));
        }

        if (query.From is { } from)
        {
            filters.Add((SqliteListFilters.From, MessageListAddress.Normalize(from)));
        }

        return filters;
    }

    /// <summary>
    /// The walk of the list: the index of the rarest filter (its range of <c>message_filters</c>, or the owner index's
    /// for a key), each row looked up in messages; or -1, without a filter or with a state rarer than every filter: one
    /// of the created_at indexes of messages. Every other filter is a point lookup of its row by (kind, value,
    /// created_at, id). The counts that decide read at most <see cref="ProbeLimit"/> index entries each.
    /// </summary>
    private async Task<int> ChooseWalkAsync(SqliteConnection connection, MessageQuery query, List<(string Kind, string Value)> filters, CancellationToken cancellationToken)
    {
        if (filters.Count == 0)
        {
            return -1;
        }

        var drive = 0;
        if (filters.Count == 1 && query.State is null)
        {
            return drive;
        }

        var counts = new long[filters.Count];
        for (var i = 0; i < filters.Count; i++)
        {
            counts[i] = await BoundedCountAsync(connection, "message_filters WHERE kind = $kind AND value = $value", filters[i], query.Owner, cancellationToken);
            if (counts[i] < counts[drive])
            {
                drive = i;
            }
        }

        if (query.State is { } state && counts[drive] >= ProbeLimit
            && await BoundedCountAsync(connection, "messages WHERE state = $state", (string.Empty, state.ToString()), query.Owner, cancellationToken) < ProbeLimit)
        {
            return -1;
        }

        return drive;
    }

    /// <summary>The list's SQL for the walk <paramref name="drive"/> (see <see cref="ChooseWalkAsync"/>), and its parameters.</summary>
    internal static (string Sql, (string Name, object Value)[] Parameters) ListSql(MessageQuery query, List<(string Kind, string Value)> filters, int drive, int limit)
    {
        var where = new List<string>();
        var parameters = new List<(string, object)>();
        var sql = new StringBuilder();
        string key;
        if (drive >= 0)
        {
            // The owner index when there is a key: only its rows are walked.
            sql.Append("SELECT m.record FROM message_filters AS f")
                .Append(query.Owner is null ? string.Empty : " INDEXED BY message_filters_owner")
                .Append(" CROSS JOIN messages AS m ON m.id = f.id");
            where.Add("f.kind = $kind AND f.value = $value");
            parameters.Add(("$kind", filters[drive].Kind));
            parameters.Add(("$value", filters[drive].Value));
            if (query.Owner is { } filterOwner)
            {
                where.Add("f.owner = $owner");
                parameters.Add(("$owner", filterOwner));
            }

            key = "f";
        }
        else
        {
            sql.Append("SELECT m.record FROM messages AS m");
            if (query.Owner is { } owner)
            {
                where.Add("m.owner = $owner");
                parameters.Add(("$owner", owner));
            }

            key = "m";
        }

        for (var i = 0; i < filters.Count; i++)
        {
            if (i != drive)
            {
                var name = "$" + i.ToString(CultureInfo.InvariantCulture);
                where.Add(string.Create(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM message_filters AS s{i} WHERE s{i}.kind = {name}k AND s{i}.value = {name}v AND s{i}.created_at = {key}.created_at AND s{i}.id = {key}.id)"));
                parameters.Add((name + "k", filters[i].Kind));
                parameters.Add((name + "v", filters[i].Value));
            }
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
        return (sql.ToString(), [.. parameters]);
    }

    /// <summary>
    /// The rows of <paramref name="from"/> (a table and its condition on <c>$kind</c>/<c>$value</c> or <c>$state</c>),
    /// of the key when there is one, counted up to <see cref="ProbeLimit"/>: at most that many index entries read.
    /// </summary>
    private async Task<long> BoundedCountAsync(SqliteConnection connection, string from, (string Kind, string Value) value, string? owner, CancellationToken cancellationToken)
    {
        var ownerCondition = owner is null ? string.Empty : " AND owner = $owner";
        using var command = Command(connection, null,
            $"SELECT count(*) FROM (SELECT 1 FROM {from}{ownerCondition} LIMIT {ProbeLimit})",
            ("$kind", value.Kind), ("$value", value.Value), ("$state", value.Value), ("$owner", owner ?? string.Empty));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The bound of the counts that pick the walk (a test makes it small).</summary>
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
