using Azure;
using Azure.Data.Tables;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Events;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Status;

/// <summary>
/// The event log on Table storage. One message's events (<see cref="MessageEventQuery.MessageId"/> set) come from the
/// event rows <see cref="TableMessageStatusStore"/> writes in the message's partition (<see cref="TableEventRows"/>):
/// one partition query, in the message's own sequence order, keyset on that sequence, ids <c>evt_</c> and that
/// sequence. The feed across messages (no message id) comes from the event feed table (<see cref="TableEventFeed"/>):
/// time order, ids and cursors <c>evt_{ticks}_{message id}_{sequence}</c> (<see cref="IMessageEventFeedCursor"/>).
/// </summary>
public sealed class TableMessageEventStore : IMessageEventStore, IMessageEventFeedCursor
{
    private readonly TableClient _status;
    private readonly TableEventFeed _feed;

    /// <summary>Creates the store on the configured status and feed tables.</summary>
    public TableMessageEventStore(TableServiceClient service, IOptions<AzureStorageOptions> options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        _status = service.GetTableClient(options.Value.StatusTable);
        _feed = new TableEventFeed(service, options.Value, time ?? TimeProvider.System);
    }

    /// <inheritdoc />
    public bool IsFeedCursor(string cursor) => TableEventFeed.IsCursor(cursor);

    /// <summary>A feed cursor before every event of <paramref name="time"/> and after every earlier one (read the feed from a time on).</summary>
    public static string FeedCursorAt(DateTimeOffset time) => TableEventFeed.CursorAt(time);

    /// <summary>
    /// Removes the feed's entries of the hours that ended before <paramref name="before"/>, at most <paramref name="max"/>
    /// (<see cref="EventFeedJanitor"/>); the messages' own event rows stay.
    /// </summary>
    public Task<int> PruneFeedAsync(DateTimeOffset before, int max, CancellationToken cancellationToken) => _feed.PruneAsync(before, max, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<MessageEvent>> ReadAsync(MessageEventQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.MessageId is not { } id)
        {
            return await _feed.ReadAsync(query, cancellationToken);
        }

        if (!TableMessageStatusStore.IsValidKey(id) || query.Limit < 1)
        {
            return [];
        }

        // The status row (owner, tags, metadata) and the event rows that hold events after the cursor, in one query.
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {id} and (RowKey eq {TableMessageStatusStore.StatusRow} or (RowKey ge {TableEventRows.Prefix} and RowKey lt {TableEventRows.PrefixEnd} and Last gt {query.After}))");
        TableEntity? status = null;
        var rows = new List<TableEntity>();
        try
        {
            await foreach (var row in _status.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
            {
                if (row.RowKey == TableMessageStatusStore.StatusRow)
                {
                    status = row;
                }
                else
                {
                    rows.Add(row);
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return []; // No table yet (the status store creates it with its first record): no message, no event.
        }

        if (status is null)
        {
            return [];
        }

        var record = TableMessageStatusStore.FromEntity(status, []);
        if (query.Owner is { } owner && !string.Equals(owner, record.Owner, StringComparison.Ordinal))
        {
            return [];
        }

        var events = new List<MessageEvent>();
        foreach (var row in rows.OrderBy(r => r.RowKey, StringComparer.Ordinal))
        {
            foreach (var stored in TableEventRows.Read(row))
            {
                if (stored.Seq <= query.After || (query.Types is { Count: > 0 } types && !types.Contains(stored.Type, StringComparer.Ordinal)))
                {
                    continue;
                }

                events.Add(new MessageEvent
                {
                    Sequence = stored.Seq,
                    Type = stored.Type,
                    Time = stored.Time,
                    MessageId = record.Id,
                    Owner = record.Owner,
                    Recipient = stored.Recipient,
                    Attempt = stored.Attempt,
                    Port = stored.Port,
                    Reply = stored.Reply,
                    Tags = record.Tags,
                    Metadata = record.Metadata,
                });
                if (events.Count == query.Limit)
                {
                    return events;
                }
            }
        }

        return events;
    }
}
