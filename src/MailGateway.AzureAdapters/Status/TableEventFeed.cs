using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Events;

namespace MailGateway.AzureAdapters.Status;

/// <summary>
/// The event feed across messages on Table storage (table <see cref="AzureStorageOptions.EventFeedTable"/>).
/// <para>
/// The problem: a change's events are written in the message's own partition, in the entity-group transaction of the
/// change (<see cref="TableEventRows"/>), and a Table transaction cannot reach another partition, so no feed row can be
/// written in the same transaction. The feed must still hold: an event is in the feed if and only if its change
/// committed; the order never changes; a reader following the cursor never misses one.
/// </para>
/// <para>
/// The design: before the change's transaction the writer adds an <b>entry</b> (an intent) to this table: partition
/// the hour, row key <c>{ticks:D19}_{message id}_{first event number:D12}</c> (time order), with a random change id
/// that the change's first event row carries too, and the events themselves. Then it submits the transaction, then it
/// marks the entry <c>Confirmed</c>. A reader serves the entries in row-key order and an entry only once its fate is
/// known: confirmed; or its event row (<c>event-{first}</c> in the message's partition) exists with the entry's change
/// id — committed, so the reader confirms it; or that row exists with another change id or as a tombstone — this
/// change can never commit (an event row is added, never replaced), so the reader deletes the entry. An entry whose
/// row is missing is unknown: the reader stops there (the cursor never passes an event that may still commit) until
/// the entry is older than <see cref="AzureStorageOptions.EventFeedGrace"/>; then it <b>fences</b> it: one transaction
/// in the message's partition adds a tombstone at <c>event-{first}</c> and sets the status row's event sequence to
/// that number (conditional on its ETag). After that the writer's transaction can never commit — its add of
/// <c>event-{first}</c> would conflict, its ETag is stale — so the entry is deleted, proven absent. A crash between
/// any two steps leaves one of these cases: an entry without a transaction (fenced after the grace), a transaction
/// without confirmation (found and confirmed). A writer whose transaction failed settles its own entry at once (found:
/// it had committed after all, an answer lost; else fenced), so a lost ETag race does not hold the feed back.
/// </para>
/// <para>
/// Entries become visible in the order they are written, not in the order of their times: a writer takes its time,
/// then adds its entry some milliseconds later, and another writer's later entry may be visible first. So a reader
/// serves only entries older than <see cref="AzureStorageOptions.EventFeedSettle"/>, and a writer whose entry took
/// more than half of that to write (by its own clock) deletes it and writes a new one before it commits anything.
/// With host clocks within half of the settle time of each other, every entry older than the reader's horizon is
/// already visible when the reader looks, so a later entry never appears behind the cursor.
/// </para>
/// </summary>
internal sealed class TableEventFeed
{
    /// <summary>The property of the first event row of a change: the change id its feed entry carries.</summary>
    public const string ChangeIdProperty = "ChangeId";

    /// <summary>The property of the status row: the time (ticks) of the message's last committed feed entry.</summary>
    public const string TicksProperty = "FeedTicks";

    /// <summary>The property of a fenced event row.</summary>
    public const string TombstoneProperty = "Tombstone";

    private const string Prefix = "evt_";
    private const int TickDigits = 19;
    private const int SequenceDigits = 12;
    private const int MaxMessageIdLength = 64;

    // The entry holds the events when they fit one event row (almost always); else the reader reads the event rows.
    private const string SpilledProperty = "Spilled";
    private const int MaxAbandons = 5;

    private readonly TableClient _feed;
    private readonly TableClient _status;
    private readonly TimeProvider _time;
    private readonly TimeSpan _settle;
    private readonly TimeSpan _grace;

    public TableEventFeed(TableServiceClient service, AzureStorageOptions options, TimeProvider time)
    {
        _feed = service.GetTableClient(options.EventFeedTable);
        _status = service.GetTableClient(options.StatusTable);
        _time = time;
        _settle = options.EventFeedSettle;
        _grace = options.EventFeedGrace;
    }

    /// <summary>The feed table (created with the status table).</summary>
    public TableClient Table => _feed;

    /// <summary>Where the fate of an entry stands.</summary>
    public enum Fate
    {
        /// <summary>Its change committed (the entry is confirmed now).</summary>
        Committed,

        /// <summary>Its change never committed and never will (the entry is deleted).</summary>
        Absent,

        /// <summary>Not known yet: the change may still commit.</summary>
        Unknown,
    }

    /// <summary>A written entry, as its writer and its reader know it.</summary>
    public sealed record Entry(string PartitionKey, string RowKey, long Ticks, string MessageId, long First, long Last, string ChangeId);

    /// <summary>
    /// Adds the entry of a change of <paramref name="messageId"/> whose event rows are <paramref name="rows"/> (the
    /// first carries <paramref name="changeId"/>), before the change's transaction; its time is after
    /// <paramref name="previous"/> (the time of the message's last committed entry, <see cref="TicksProperty"/>), so a
    /// message's changes are in the feed in their commit order even when the hosts' clocks differ.
    /// </summary>
    public async Task<Entry> WriteAsync(string messageId, IReadOnlyList<TableEntity> rows, IReadOnlyList<MessageEvent> events, string changeId, long previous, CancellationToken cancellationToken)
    {
        var first = rows[0].GetInt64("First") ?? 0;
        var last = rows[^1].GetInt64("Last") ?? first;
        var ticks = previous;
        for (var abandons = 0; ; abandons++)
        {
            ticks = Math.Max(_time.GetUtcNow().UtcTicks, ticks + 1);
            var entity = Entity(messageId, rows, events, changeId, ticks, first, last);
            try
            {
                await _feed.AddEntityAsync(entity, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 409 && abandons < MaxAbandons)
            {
                continue; // another writer's change of this message, with the same number, in the same tick: the next tick
            }

            var entry = new Entry(entity.PartitionKey, entity.RowKey, ticks, messageId, first, last, changeId);
            if (_time.GetUtcNow().UtcTicks - ticks <= _settle.Ticks / 2)
            {
                return entry;
            }

            // Written too late: a reader may have passed its time already. Nothing was committed with it: remove it
            // (if that fails, a reader fences it after the grace) and take a new time.
            await DeleteQuietlyAsync(entry, cancellationToken);
            if (abandons >= MaxAbandons)
            {
                throw new TimeoutException($"The event feed entry of a change of {messageId} took longer than half of EventFeedSettle to write, {MaxAbandons + 1} times.");
            }
        }
    }

    /// <summary>Deletes <paramref name="entry"/> (its change was undone: an idempotency key's loser).</summary>
    public Task DeleteAsync(Entry entry, CancellationToken cancellationToken) => DeleteQuietlyAsync(entry, cancellationToken);

    /// <summary>Marks <paramref name="entry"/> confirmed (its change committed).</summary>
    public async Task ConfirmAsync(Entry entry, CancellationToken cancellationToken)
    {
        try
        {
            await _feed.UpdateEntityAsync(new TableEntity(entry.PartitionKey, entry.RowKey) { ["Confirmed"] = true }, ETag.All, TableUpdateMode.Merge, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Gone: nothing to confirm (it cannot be: an entry is deleted only when its change is proven absent).
        }
    }

    /// <summary>
    /// Finds the fate of <paramref name="entry"/> from its message's partition and records it (confirm or delete);
    /// with <paramref name="fence"/>, an entry whose event row is missing is fenced (its change can never commit then).
    /// </summary>
    public async Task<Fate> ResolveAsync(Entry entry, bool fence, CancellationToken cancellationToken)
    {
        var eventRow = TableEventRows.RowKey(entry.First);
        for (var i = 0; i < 4; i++)
        {
            var found = await _status.GetEntityIfExistsAsync<TableEntity>(entry.MessageId, eventRow, cancellationToken: cancellationToken);
            if (found.HasValue && found.Value is { } row)
            {
                if (row.GetBoolean(TombstoneProperty) != true && string.Equals(row.GetString(ChangeIdProperty), entry.ChangeId, StringComparison.Ordinal))
                {
                    await ConfirmAsync(entry, cancellationToken);
                    return Fate.Committed;
                }

                await DeleteQuietlyAsync(entry, cancellationToken); // the number is another change's, or fenced
                return Fate.Absent;
            }

            if (!fence)
            {
                return Fate.Unknown;
            }

            var status = await _status.GetEntityIfExistsAsync<TableEntity>(entry.MessageId, TableMessageStatusStore.StatusRow, cancellationToken: cancellationToken);
            var tombstone = new TableEntity(entry.MessageId, eventRow)
            {
                [TombstoneProperty] = true,
                [ChangeIdProperty] = entry.ChangeId,
            };
            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.Add, tombstone) };
            if (status.HasValue && status.Value is { } current)
            {
                if (TableEventRows.LastSequence(current) >= entry.First)
                {
                    continue; // a change took this number meanwhile: its row is there now
                }

                // The status row too: the writer's transaction (conditional on the ETag read before) fails, and the
                // next change of the message numbers its events after the tombstone.
                actions.Insert(0, new TableTransactionAction(
                    TableTransactionActionType.UpdateMerge,
                    new TableEntity(entry.MessageId, TableMessageStatusStore.StatusRow) { [TableEventRows.SequenceProperty] = entry.First },
                    current.ETag));
            }

            try
            {
                await _status.SubmitTransactionAsync(actions, cancellationToken);
                await DeleteQuietlyAsync(entry, cancellationToken);
                return Fate.Absent;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
            {
                // The writer got there first, or the status row changed: look again.
            }
        }

        return Fate.Unknown;
    }

    /// <summary>
    /// The feed: events of <paramref name="query"/>'s owner (every owner when null) after its cursor, in entry order,
    /// stopping at the first entry whose fate is unknown.
    /// </summary>
    public async Task<IReadOnlyList<MessageEvent>> ReadAsync(MessageEventQuery query, CancellationToken cancellationToken)
    {
        var limit = Math.Clamp(query.Limit, 1, 1000);
        var now = _time.GetUtcNow().UtcTicks;
        var horizon = now - _settle.Ticks;
        Position? after = null;
        if (query.AfterId is { } cursor)
        {
            if (!TryParse(cursor, out var parsed))
            {
                return [];
            }

            after = parsed;
        }

        var lowerTicks = after?.Ticks ?? 0;
        var lowerRow = after is { } a ? Ticks(a.Ticks) + "_" + a.MessageId + "_" : "";
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey ge {Bucket(lowerTicks)} and PartitionKey le {Bucket(horizon + 1)} and RowKey ge {lowerRow} and RowKey lt {Ticks(horizon + 1)}");
        if (query.Owner is { } owner)
        {
            filter += " and " + TableClient.CreateQueryFilter($"Owner eq {owner}");
        }

        var events = new List<MessageEvent>();
        try
        {
            await foreach (var row in _feed.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(1000, limit + 1), cancellationToken: cancellationToken))
            {
                var entry = ToEntry(row);
                if (row.GetBoolean("Confirmed") != true)
                {
                    var fate = await ResolveAsync(entry, fence: now - entry.Ticks >= _grace.Ticks, cancellationToken);
                    if (fate == Fate.Unknown)
                    {
                        break; // may still commit: never serve past it
                    }

                    if (fate == Fate.Absent)
                    {
                        continue;
                    }
                }

                foreach (var stored in await EventsOfAsync(row, entry, cancellationToken))
                {
                    var key = Key(entry.Ticks, entry.MessageId, stored.Seq);
                    if ((after is { } position && string.CompareOrdinal(key, position.Key) <= 0)
                        || (query.Types is { Count: > 0 } types && !types.Contains(stored.Type, StringComparer.Ordinal)))
                    {
                        continue;
                    }

                    events.Add(new MessageEvent
                    {
                        Sequence = stored.Seq,
                        FeedId = Prefix + key,
                        Type = stored.Type,
                        Time = stored.Time,
                        MessageId = entry.MessageId,
                        Owner = row.GetString("Owner") ?? "",
                        Recipient = stored.Recipient,
                        Attempt = stored.Attempt,
                        Port = stored.Port,
                        Reply = stored.Reply,
                        Tags = TableMessageStatusStore.ReadChunks(row, "Tags") is { } t ? JsonSerializer.Deserialize(t, StatusJsonContext.Default.ListString) ?? [] : [],
                        Metadata = TableMessageStatusStore.ReadChunks(row, "Metadata") is { } m
                            ? JsonSerializer.Deserialize(m, StatusJsonContext.Default.DictionaryStringString) ?? new Dictionary<string, string>()
                            : new Dictionary<string, string>(),
                    });
                    if (events.Count == limit)
                    {
                        return events;
                    }
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode == "TableNotFound")
        {
            return events; // no feed table yet: nothing was written
        }

        return events;
    }

    /// <summary>
    /// Removes the entries of the hours that ended before <paramref name="before"/> (whole partitions, oldest first), at
    /// most <paramref name="max"/>; returns how many it removed. A reader whose cursor is older continues with the first
    /// entry left. Several janitors may run at once: an entry another removed first is skipped.
    /// </summary>
    public async Task<int> PruneAsync(DateTimeOffset before, int max, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey lt {Bucket(before.UtcTicks)}");
        var removed = 0;
        var batch = new List<TableTransactionAction>(100);
        try
        {
            await foreach (var row in _feed.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
            {
                if (batch.Count == 100 || (batch.Count > 0 && batch[0].Entity.PartitionKey != row.PartitionKey))
                {
                    removed += await DeleteBatchAsync(batch, cancellationToken);
                    batch.Clear();
                }

                if (removed + batch.Count >= max)
                {
                    break;
                }

                batch.Add(new TableTransactionAction(TableTransactionActionType.Delete, row, ETag.All));
            }

            removed += await DeleteBatchAsync(batch, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode == "TableNotFound")
        {
            // No feed table yet: nothing to remove.
        }

        return removed;
    }

    private async Task<int> DeleteBatchAsync(List<TableTransactionAction> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return 0;
        }

        try
        {
            await _feed.SubmitTransactionAsync(batch, cancellationToken);
            return batch.Count;
        }
        catch (TableTransactionFailedException)
        {
            // One was gone already (another janitor): the rest one by one.
            var removed = 0;
            foreach (var action in batch)
            {
                try
                {
                    await _feed.DeleteEntityAsync(action.Entity.PartitionKey, action.Entity.RowKey, ETag.All, cancellationToken);
                    removed++;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                }
            }

            return removed;
        }
    }

    /// <summary>True when <paramref name="cursor"/> is a feed id: <c>evt_{ticks:D19}_{message id}_{sequence:D12}</c>.</summary>
    public static bool IsCursor(string cursor) => TryParse(cursor, out _);

    /// <summary>
    /// A cursor before every entry of <paramref name="time"/> and after every earlier one (a new webhook endpoint starts
    /// there: it receives what happens from then on): the tick before, after every message id (<c>~</c> sorts after the
    /// letters and digits of the ids).
    /// </summary>
    public static string CursorAt(DateTimeOffset time) => Prefix + Key(Math.Max(0, time.UtcTicks - 1), "~", 0);

    private async Task<List<StoredEvent>> EventsOfAsync(TableEntity row, Entry entry, CancellationToken cancellationToken)
    {
        if (row.GetBoolean(SpilledProperty) != true)
        {
            return TableEventRows.Read(row);
        }

        // Too many to hold in the entry: the change's event rows, which committed (the entry is confirmed).
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {entry.MessageId} and RowKey ge {TableEventRows.RowKey(entry.First)} and RowKey le {TableEventRows.RowKey(entry.Last)}");
        var events = new List<StoredEvent>();
        await foreach (var eventRow in _status.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            events.AddRange(TableEventRows.Read(eventRow).Where(e => e.Seq >= entry.First && e.Seq <= entry.Last));
        }

        return [.. events.OrderBy(e => e.Seq)];
    }

    private async Task DeleteQuietlyAsync(Entry entry, CancellationToken cancellationToken)
    {
        try
        {
            await _feed.DeleteEntityAsync(entry.PartitionKey, entry.RowKey, ETag.All, cancellationToken);
        }
        catch (RequestFailedException)
        {
            // Left for a reader, which settles it again (its fate is known and recorded in the message's partition).
        }
    }

    private static TableEntity Entity(string messageId, IReadOnlyList<TableEntity> rows, IReadOnlyList<MessageEvent> events, string changeId, long ticks, long first, long last)
    {
        var entity = new TableEntity(Bucket(ticks), Ticks(ticks) + "_" + messageId + "_" + Sequence(first))
        {
            ["MessageId"] = messageId,
            ["Owner"] = events[0].Owner,
            ["First"] = first,
            ["Last"] = last,
            [ChangeIdProperty] = changeId,
            ["Confirmed"] = false,
        };
        if (rows.Count == 1)
        {
            foreach (var (name, value) in rows[0])
            {
                if (name.StartsWith("Events", StringComparison.Ordinal))
                {
                    entity[name] = value;
                }
            }
        }
        else
        {
            entity[SpilledProperty] = true;
        }

        TableMessageStatusStore.WriteChunks(entity, "Tags", JsonSerializer.Serialize([.. events[0].Tags], StatusJsonContext.Default.ListString));
        TableMessageStatusStore.WriteChunks(entity, "Metadata", JsonSerializer.Serialize(new Dictionary<string, string>(events[0].Metadata), StatusJsonContext.Default.DictionaryStringString));
        return entity;
    }

    private static Entry ToEntry(TableEntity row)
    {
        var ticks = long.Parse(row.RowKey.AsSpan(0, TickDigits), NumberStyles.None, CultureInfo.InvariantCulture);
        return new Entry(row.PartitionKey, row.RowKey, ticks, row.GetString("MessageId") ?? "", row.GetInt64("First") ?? 0, row.GetInt64("Last") ?? 0, row.GetString(ChangeIdProperty) ?? "");
    }

    // The hour of the entry's time: partitions follow time, so a range of them is a range of time.
    private static string Bucket(long ticks) => Ticks(Math.Max(0, ticks) / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour);

    private static string Ticks(long ticks) => Math.Max(0, ticks).ToString("D19", CultureInfo.InvariantCulture);

    private static string Sequence(long sequence) => sequence.ToString("D12", CultureInfo.InvariantCulture);

    private static string Key(long ticks, string messageId, long sequence) => Ticks(ticks) + "_" + messageId + "_" + Sequence(sequence);

    private readonly record struct Position(long Ticks, string MessageId, string Key);

    private static bool TryParse(string cursor, out Position position)
    {
        position = default;
        var minimum = Prefix.Length + TickDigits + 1 + 1 + 1 + SequenceDigits;
        if (cursor.Length < minimum || cursor.Length > minimum - 1 + MaxMessageIdLength || !cursor.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var key = cursor[Prefix.Length..];
        var ticksText = key.AsSpan(0, TickDigits);
        var sequenceText = key.AsSpan(key.Length - SequenceDigits);
        var messageId = key[(TickDigits + 1)..^(SequenceDigits + 1)];
        if (key[TickDigits] != '_' || key[^(SequenceDigits + 1)] != '_'
            || ticksText.ContainsAnyExceptInRange('0', '9') || sequenceText.ContainsAnyExceptInRange('0', '9')
            || !long.TryParse(ticksText, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks
            || !TableMessageStatusStore.IsValidKey(messageId) || messageId.Contains('\'', StringComparison.Ordinal))
        {
            return false;
        }

        position = new Position(ticks, messageId, key);
        return true;
    }
}
