using Azure;
using Azure.Data.Tables;
using MailGateway.Core.Events;
using MailGateway.Core.Status;

namespace MailGateway.AzureAdapters.Status;

/// <summary>
/// Search and cancel on Table storage. The table is partitioned by message id, so a list is a scan of every status
/// row the server-side filter (owner, state, time range, cursor's time) lets through: Table storage cannot sort, so
/// the newest page is kept in memory (a bounded heap of <c>limit + 1</c>) while the scan runs. Its cost grows with the
/// number of messages in the table, not with the page size. A cancel is an ETag-conditional update, so it and a
/// worker's <see cref="TryBeginSendingAsync"/> cannot both win.
/// </summary>
public sealed partial class TableMessageStatusStore : IMessageOperations
{
    /// <inheritdoc />
    public async Task<MessagePage> ListAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, MessageQuery.MaxLimit);
        await _created.EnsureAsync(cancellationToken);

        var filters = new List<string> { TableClient.CreateQueryFilter($"RowKey eq {StatusRow}") };
        if (query.Owner is { } owner)
        {
            filters.Add(TableClient.CreateQueryFilter($"Owner eq {owner}"));
        }

        if (query.State is { } state)
        {
            filters.Add(TableClient.CreateQueryFilter($"State eq {state.ToString()}"));
        }

        if (query.Since is { } since)
        {
            filters.Add(TableClient.CreateQueryFilter($"CreatedAt ge {since.AddMilliseconds(-1)}"));
        }

        if (query.Until is { } until)
        {
            filters.Add(TableClient.CreateQueryFilter($"CreatedAt lt {until.AddMilliseconds(1)}"));
        }

        if (query.After is { } after)
        {
            filters.Add(TableClient.CreateQueryFilter($"CreatedAt lt {DateTimeOffset.FromUnixTimeMilliseconds(after.CreatedAtMs + 1)}"));
        }

        // Newest first: the heap's top is the oldest of the kept ones, dropped when a newer one comes.
        var kept = new PriorityQueue<MessageRecord, (long, string)>(limit + 2, Comparer<(long Ms, string Id)>.Create((a, b) =>
            a.Ms != b.Ms ? a.Ms.CompareTo(b.Ms) : string.CompareOrdinal(a.Id, b.Id)));
        await foreach (var entity in _status.QueryAsync<TableEntity>(string.Join(" and ", filters), cancellationToken: cancellationToken))
        {
            var record = FromEntity(entity, []);
            if (!Matches(record, query))
            {
                continue;
            }

            kept.Enqueue(record, (record.CreatedAt.ToUnixTimeMilliseconds(), record.Id));
            if (kept.Count > limit + 1)
            {
                kept.Dequeue();
            }
        }

        var items = new List<MessageRecord>(kept.Count);
        while (kept.Count > 0)
        {
            items.Add(kept.Dequeue());
        }

        items.Reverse();
        if (items.Count <= limit)
        {
            return new MessagePage(items, null);
        }

        items.RemoveAt(limit);
        return new MessagePage(items, MessageCursor.Of(items[^1]));
    }

    /// <inheritdoc />
    public async Task<CancelResult> CancelAsync(string id, string reason, CancellationToken cancellationToken)
    {
        for (var i = 0; i < MaxConflictRetries; i++)
        {
            var current = await GetStatusEntityAsync(id, cancellationToken);
            if (current is null)
            {
                return new CancelResult(CancelOutcome.NotFound, null);
            }

            var record = FromEntity(current, []);
            if (!record.State.IsCancelable())
            {
                return new CancelResult(CancelOutcome.NotCancelable, record);
            }

            var now = _time.GetUtcNow();
            current["State"] = nameof(MessageState.Canceled);
            current["UpdatedAt"] = now;
            current["LastReply"] = Truncate(reason);
            current.Remove("NextAttemptAt");
            var canceled = record with { State = MessageState.Canceled, UpdatedAt = now, LastReply = reason, NextAttemptAt = null };
            try
            {
                // The canceled event in the same transaction as the change (the outbox).
                await SubmitAsync(current, MessageEvents.ForState(canceled), [new TableTransactionAction(TableTransactionActionType.UpdateReplace, current, current.ETag)], cancellationToken);
                return new CancelResult(CancelOutcome.Canceled, canceled);
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // A worker (or another cancel) changed it since we read it: decide again on the new state.
            }
        }

        throw new InvalidOperationException($"The status of {id} stayed contended; try again.");
    }

    private static bool Matches(MessageRecord record, MessageQuery query) =>
        (query.After is not { } after || after.Precedes(record))
        && (query.Since is not { } since || record.CreatedAt.ToUnixTimeMilliseconds() >= since.ToUnixTimeMilliseconds())
        && (query.Until is not { } until || record.CreatedAt.ToUnixTimeMilliseconds() < until.ToUnixTimeMilliseconds())
        && (query.Tag is not { } tag || record.Tags.Contains(tag, StringComparer.Ordinal))
        && (query.Recipient is not { } recipient || (record.Envelope?.Recipients.Any(r => SameAddress(r, recipient)) ?? false))
        && (query.From is not { } from || (record.Envelope?.MailFrom is { } mailFrom && SameAddress(mailFrom, from)));

    private static bool SameAddress(string stored, string searched) =>
        string.Equals(MessageListAddress.Normalize(stored), MessageListAddress.Normalize(searched), StringComparison.Ordinal);
}
