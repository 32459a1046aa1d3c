using Azure.Data.Tables;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Delivery;
using MailGateway.Core.Events;
using MailGateway.Core.Status;
using MailGateway.Testing.AzureAdapters;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.AzureAdapters.Tests;

/// <summary>
/// The event feed across messages on Table storage (<see cref="TableEventFeed"/>, Azurite): every committed change's
/// events appear in it once, in a stable time order, never one whose change did not commit; a writer stopped between
/// its steps (entry written, transaction committed) is settled by the reader; a reader never serves past an entry whose
/// fate is unknown, so following the cursor misses nothing.
/// </summary>
public sealed class TableEventFeedTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    private sealed class SimulatedCrashException : Exception
    {
        public SimulatedCrashException()
            : base("simulated crash")
        {
        }
    }

    private static MessageRecord Record(string id, DateTimeOffset at, string owner = "key-1", params string[] recipients) => new()
    {
        Id = id,
        Owner = owner,
        State = MessageState.Queued,
        CreatedAt = at,
        UpdatedAt = at,
        ExpiresAt = at.AddDays(1),
        Recipients = [.. (recipients.Length == 0 ? ["b@example.net"] : recipients).Select(r => new RecipientResult(r, RecipientState.Deferred, null))],
        Tags = ["welcome"],
        Metadata = new Dictionary<string, string> { ["user"] = "42" },
    };

    private static string NewId() => Guid.NewGuid().ToString("N");

    private sealed record Stores(AzureStorageOptions Options, FakeTimeProvider Clock, TableMessageStatusStore Status, TableMessageEventStore Events)
    {
        public TableMessageStatusStore Another() => StorageFixtures.Table(Options, Clock);

        public Task<IReadOnlyList<MessageEvent>> FeedAsync(string? after = null, int limit = 1000, string? owner = "key-1", IReadOnlyList<string>? types = null) =>
            Events.ReadAsync(new MessageEventQuery(owner, 0, limit, null, types, after), CancellationToken.None);

        /// <summary>Follows the cursor page by page until a page is empty, as a polling application does.</summary>
        public async Task<List<MessageEvent>> FollowAsync(int limit, string? owner = "key-1")
        {
            var all = new List<MessageEvent>();
            string? after = null;
            while (true)
            {
                var page = await FeedAsync(after, limit, owner);
                if (page.Count == 0)
                {
                    return all;
                }

                all.AddRange(page);
                after = page[^1].Id;
            }
        }

        public async Task<IReadOnlyList<MessageEvent>> OfAsync(string id, string owner = "key-1") =>
            await Events.ReadAsync(new MessageEventQuery(owner, 0, 10_000, id), CancellationToken.None);

        public async Task<List<TableEntity>> EntriesAsync()
        {
            var table = new TableServiceClient(Options.ConnectionString).GetTableClient(Options.EventFeedTable);
            var rows = new List<TableEntity>();
            await foreach (var row in table.QueryAsync<TableEntity>())
            {
                rows.Add(row);
            }

            return rows;
        }
    }

    private static async Task<Stores> StoresAsync()
    {
        var options = await StorageFixtures.OptionsAsync();
        options.EventFeedSettle = Settle;
        options.EventFeedGrace = Grace;
        var clock = StorageFixtures.Clock();
        return new Stores(options, clock, StorageFixtures.Table(options, clock),
            new TableMessageEventStore(new TableServiceClient(options.ConnectionString), Options.Create(options), clock));
    }

    private static DeliveryAttemptRecord Attempt(int number, FakeTimeProvider clock, DeliveryOutcomeKind outcome, string reply) =>
        new(number, clock.GetUtcNow(), TimeSpan.FromSeconds(1), outcome, 587, "Tls13", reply);

    private static (string, long, string) Identity(MessageEvent e) => (e.MessageId, e.Sequence, e.Type);

    [Fact]
    public async Task The_janitor_removes_the_feed_hours_past_the_retention_and_keeps_the_rest_and_the_messages_own_events()
    {
        var s = await StoresAsync();
        s.Options.EventFeedRetention = TimeSpan.FromDays(30);
        // Two old hours, one with more entries than a transaction holds (100).
        var old = Enumerable.Range(0, 110).Select(_ => Record(NewId(), s.Clock.GetUtcNow())).ToList();
        await Parallel.ForEachAsync(old, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (record, ct) => await s.Status.CreateAsync(record, null, ct));
        s.Clock.Advance(TimeSpan.FromHours(1));
        var older = Enumerable.Range(0, 40).Select(_ => Record(NewId(), s.Clock.GetUtcNow())).ToList();
        await Parallel.ForEachAsync(older, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (record, ct) => await s.Status.CreateAsync(record, null, ct));

        s.Clock.Advance(TimeSpan.FromDays(29));
        var kept = Record(NewId(), s.Clock.GetUtcNow());
        await s.Status.CreateAsync(kept, null, CancellationToken.None);
        s.Clock.Advance(TimeSpan.FromDays(2));
        var fresh = Record(NewId(), s.Clock.GetUtcNow());
        await s.Status.CreateAsync(fresh, null, CancellationToken.None);
        s.Clock.Advance(Settle);
        Assert.Equal(152, (await s.FollowAsync(1000)).Count);
        var janitor = new EventFeedJanitor(s.Events, Options.Create(s.Options), s.Clock, Microsoft.Extensions.Logging.Abstractions.NullLogger<EventFeedJanitor>.Instance);

        var removed = await janitor.RunOnceAsync(CancellationToken.None);
        var again = await janitor.RunOnceAsync(CancellationToken.None);

        Assert.Equal((150, 0), (removed, again));
        Assert.Equal([kept.Id, fresh.Id], (await s.FollowAsync(2)).Select(e => e.MessageId));
        Assert.Equal(2, (await s.EntriesAsync()).Count);
        // A message's own events are its partition's, not the feed's: still there.
        Assert.Equal(["accepted"], (await s.OfAsync(old[0].Id)).Select(e => e.Type));
    }

    [Fact]
    public async Task Changes_of_several_messages_come_in_time_order_and_the_cursor_pages_through_them_without_gaps_or_repeats()
    {
        var s = await StoresAsync();
        var a = Record(NewId(), s.Clock.GetUtcNow());
        var b = Record(NewId(), s.Clock.GetUtcNow());
        await s.Status.CreateAsync(a, null, CancellationToken.None);
        s.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await s.Status.CreateAsync(b, null, CancellationToken.None);
        s.Clock.Advance(TimeSpan.FromSeconds(1));
        await s.Status.TryBeginSendingAsync(b.Id, CancellationToken.None);
        await s.Status.RecordAttemptAsync(b.Id, Attempt(1, s.Clock, DeliveryOutcomeKind.Delivered, "250 ok"), MessageState.Delivered,
            [new RecipientResult("b@example.net", RecipientState.Delivered, null)], null, "250 ok", CancellationToken.None);
        s.Clock.Advance(TimeSpan.FromSeconds(1));
        await s.Status.CancelAsync(a.Id, "canceled by key-1", CancellationToken.None);

        // Nothing younger than the settle time is served yet; then everything, oldest first.
        Assert.Empty(await s.FeedAsync());
        s.Clock.Advance(Settle);
        var all = await s.FeedAsync();
        Assert.Equal(
            [(a.Id, 1L, "accepted"), (b.Id, 1L, "accepted"), (b.Id, 2L, "delivered"), (b.Id, 3L, "delivered"), (a.Id, 2L, "canceled")],
            all.Select(Identity));
        Assert.Equal(all.Select(e => e.Id).Order(StringComparer.Ordinal), all.Select(e => e.Id));
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());
        Assert.Equal("b@example.net", all[2].Recipient);
        Assert.All(all, e => Assert.Equal(("welcome", "42", "key-1"), (Assert.Single(e.Tags), e.Metadata["user"], e.Owner)));

        // Pages of one and of two follow the same order; every cursor is accepted back.
        Assert.Equal(all.Select(e => e.Id), (await s.FollowAsync(1)).Select(e => e.Id));
        Assert.Equal(all.Select(e => e.Id), (await s.FollowAsync(2)).Select(e => e.Id));
        Assert.All(all, e => Assert.True(s.Events.IsFeedCursor(e.Id)));

        // The same events as the per-message log, nothing more.
        var perMessage = (await s.OfAsync(a.Id)).Concat(await s.OfAsync(b.Id)).Select(Identity).Order();
        Assert.Equal(perMessage, all.Select(Identity).Order());

        // A later change comes after the cursor of an earlier page.
        var cursor = all[^1].Id;
        s.Clock.Advance(TimeSpan.FromSeconds(1));
        await s.Status.SetStateAsync(a.Id, MessageState.Canceled, "again", CancellationToken.None);
        Assert.Empty(await s.FeedAsync(cursor));
        s.Clock.Advance(Settle);
        Assert.Equal([(a.Id, 3L, "canceled")], (await s.FeedAsync(cursor)).Select(Identity));
    }

    [Fact]
    public async Task Types_and_owners_filter_the_feed_and_another_keys_events_are_never_seen()
    {
        var s = await StoresAsync();
        var mine = Record(NewId(), s.Clock.GetUtcNow());
        var theirs = Record(NewId(), s.Clock.GetUtcNow(), owner: "key-2");
        await s.Status.CreateAsync(mine, null, CancellationToken.None);
        await s.Status.CreateAsync(theirs, null, CancellationToken.None);
        s.Clock.Advance(TimeSpan.FromSeconds(1));
        await s.Status.CancelAsync(mine.Id, "x", CancellationToken.None);
        await s.Status.CancelAsync(theirs.Id, "y", CancellationToken.None);
        s.Clock.Advance(Settle);

        Assert.Equal([(mine.Id, 2L, "canceled")], (await s.FeedAsync(types: ["canceled", "expired"])).Select(Identity));
        Assert.Equal([mine.Id], (await s.FeedAsync()).Select(e => e.MessageId).Distinct());
        Assert.Equal([theirs.Id], (await s.FeedAsync(owner: "key-2")).Select(e => e.MessageId).Distinct());
        Assert.Empty(await s.FeedAsync(owner: "key-3"));
        Assert.Equal(4, (await s.FeedAsync(owner: null)).Count); // the dispatcher's view: every key
    }

    [Fact]
    public async Task A_writer_stopped_after_its_entry_holds_the_feed_back_until_the_grace_then_its_change_is_fenced_and_never_commits()
    {
        var s = await StoresAsync();
        var before = Record(NewId(), s.Clock.GetUtcNow());
        await s.Status.CreateAsync(before, null, CancellationToken.None);
        s.Clock.Advance(TimeSpan.FromSeconds(1));

        // The writer dies after its entry, before its transaction.
        var crashing = s.Another();
        crashing.AfterStep = step =>
        {
            if (step == TableMessageStatusStore.Step.EntryWritten)
            {
                throw new SimulatedCrashException();
            }
        };
        await Assert.ThrowsAsync<SimulatedCrashException>(() => crashing.CancelAsync(before.Id, "lost", CancellationToken.None));
        s.Clock.Advance(TimeSpan.FromSeconds(1));
        var after = Record(NewId(), s.Clock.GetUtcNow());
        await s.Status.CreateAsync(after, null, CancellationToken.None);
        s.Clock.Advance(Settle);

        // Its fate is unknown: the feed serves what comes before it and stops there.
        var first = await s.FeedAsync();
        Assert.Equal([(before.Id, 1L, "accepted")], first.Select(Identity));
        Assert.Empty(await s.FeedAsync(first[^1].Id));
        Assert.Equal(3, (await s.EntriesAsync()).Count);

        // After the grace the reader fences it: its entry is gone, the message did not change, the feed goes on.
        s.Clock.Advance(Grace);
        Assert.Equal([(after.Id, 1L, "accepted")], (await s.FeedAsync(first[^1].Id)).Select(Identity));
        Assert.Equal(2, (await s.EntriesAsync()).Count);
        Assert.Equal(MessageState.Queued, (await s.Status.GetAsync(before.Id, CancellationToken.None))!.State);
        Assert.Equal(["accepted"], (await s.OfAsync(before.Id)).Select(e => e.Type));

        // The message goes on: its next change numbers its events after the fenced one and reaches the feed.
        await s.Status.CancelAsync(before.Id, "now", CancellationToken.None);
        s.Clock.Advance(Settle);
        var canceled = Assert.Single(await s.OfAsync(before.Id), e => e.Type == "canceled");
        Assert.Equal(3L, canceled.Sequence);
        Assert.Equal(
            [(before.Id, 1L, "accepted"), (after.Id, 1L, "accepted"), (before.Id, 3L, "canceled")],
            (await s.FollowAsync(1)).Select(Identity));
    }

    [Fact]
    public async Task A_writer_slower_than_the_grace_is_fenced_and_its_retry_commits_under_a_new_entry_served_once()
    {
        var s = await StoresAsync();
        var record = Record(NewId(), s.Clock.GetUtcNow());
        await s.Status.CreateAsync(record, null, CancellationToken.None);
        s.Clock.Advance(TimeSpan.FromSeconds(1));

        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var slow = s.Another();
        var paused = 0;
        slow.AfterStep = step =>
        {
            if (step == TableMessageStatusStore.Step.EntryWritten && Interlocked.Exchange(ref paused, 1) == 0)
            {
                entered.Set();
                release.Wait(TimeSpan.FromMinutes(1));
            }
        };
        var cancel = Task.Run(() => slow.CancelAsync(record.Id, "slow", CancellationToken.None));
        Assert.True(entered.Wait(TimeSpan.FromMinutes(1)));

        // The reader fences the paused writer's change, then the writer goes on: its transaction fails (the fence
        // changed the status row), and its retry writes a new entry and commits.
        s.Clock.Advance(Settle + Grace);
        Assert.Equal([(record.Id, 1L, "accepted")], (await s.FeedAsync()).Select(Identity));
        release.Set();
        var result = await cancel;
        Assert.Equal(CancelOutcome.Canceled, result.Outcome);
        s.Clock.Advance(Settle);

        var feed = await s.FollowAsync(1);
        Assert.Equal([(record.Id, 1L, "accepted"), (record.Id, 3L, "canceled")], feed.Select(Identity));
        Assert.Equal((await s.OfAsync(record.Id)).Select(Identity), feed.Select(Identity));
        Assert.All(await s.EntriesAsync(), e => Assert.True(e.GetBoolean("Confirmed")));
    }

    [Fact]
    public async Task An_accept_slower_than_the_grace_is_fenced_then_commits_with_its_events_numbered_after_the_tombstone()
    {
        var s = await StoresAsync();
        var record = Record(NewId(), s.Clock.GetUtcNow());
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var slow = s.Another();
        var paused = 0;
        slow.AfterStep = step =>
        {
            if (step == TableMessageStatusStore.Step.EntryWritten && Interlocked.Exchange(ref paused, 1) == 0)
            {
                entered.Set();
                release.Wait(TimeSpan.FromMinutes(1));
            }
        };
        var create = Task.Run(() => slow.CreateAsync(record, null, CancellationToken.None));
        Assert.True(entered.Wait(TimeSpan.FromMinutes(1)));

        s.Clock.Advance(Settle + Grace);
        Assert.Empty(await s.FeedAsync()); // fenced: no record yet, so a tombstone alone
        Assert.Empty(await s.EntriesAsync());
        release.Set();
        Assert.True((await create).Created);
        s.Clock.Advance(Settle);

        Assert.Equal([(record.Id, 2L, "accepted")], (await s.FeedAsync()).Select(Identity));
        Assert.Equal([(record.Id, 2L, "accepted")], (await s.OfAsync(record.Id)).Select(Identity));
        Assert.Equal(MessageState.Queued, (await s.Status.GetAsync(record.Id, CancellationToken.None))!.State);
    }

    /// <summary>A clock that jumps forward once, at its <c>jumpAt</c>-th reading (a writer stalled while its entry is stored).</summary>
    private sealed class JumpingClock(DateTimeOffset start, int jumpAt, TimeSpan jump) : TimeProvider
    {
        private int _readings;

        public override DateTimeOffset GetUtcNow() => Interlocked.Increment(ref _readings) >= jumpAt ? start + jump : start;
    }

    [Fact]
    public async Task An_entry_stored_later_than_half_the_settle_time_is_replaced_before_the_change_commits()
    {
        var s = await StoresAsync();
        var start = s.Clock.GetUtcNow();
        // Reading 1: the entry's time; reading 2, after it is stored: 3 s later, more than half of the 5 s settle time.
        var stalled = StorageFixtures.Table(s.Options, new JumpingClock(start, 2, TimeSpan.FromSeconds(3)));
        var record = Record(NewId(), start);

        Assert.True((await stalled.CreateAsync(record, null, CancellationToken.None)).Created);

        // The first entry was deleted, the change committed with a second one at the later time: served once.
        var entry = Assert.Single(await s.EntriesAsync());
        Assert.StartsWith((start + TimeSpan.FromSeconds(3)).UtcTicks.ToString("D19", System.Globalization.CultureInfo.InvariantCulture), entry.RowKey, StringComparison.Ordinal);
        Assert.True(entry.GetBoolean("Confirmed"));
        s.Clock.Advance(TimeSpan.FromSeconds(3) + Settle);
        Assert.Equal([(record.Id, 1L, "accepted")], (await s.FeedAsync()).Select(Identity));
    }

    [Fact]
    public async Task A_writer_stopped_after_its_transaction_is_confirmed_by_the_reader_at_once()
    {
        var s = await StoresAsync();
        var record = Record(NewId(), s.Clock.GetUtcNow());
        var crashing = s.Another();
        crashing.AfterStep = step =>
        {
            if (step == TableMessageStatusStore.Step.Committed)
            {
                throw new SimulatedCrashException();
            }
        };
        await Assert.ThrowsAsync<SimulatedCrashException>(() => crashing.CreateAsync(record, null, CancellationToken.None));
        Assert.False(Assert.Single(await s.EntriesAsync()).GetBoolean("Confirmed"));

        s.Clock.Advance(Settle);
        Assert.Equal([(record.Id, 1L, "accepted")], (await s.FeedAsync()).Select(Identity));
        Assert.True(Assert.Single(await s.EntriesAsync()).GetBoolean("Confirmed"));
    }

    [Fact]
    public async Task An_accept_stopped_after_its_entry_is_fenced_without_a_status_row_and_never_appears()
    {
        var s = await StoresAsync();
        var lost = Record(NewId(), s.Clock.GetUtcNow());
        var crashing = s.Another();
        crashing.AfterStep = step =>
        {
            if (step == TableMessageStatusStore.Step.EntryWritten)
            {
                throw new SimulatedCrashException();
            }
        };
        await Assert.ThrowsAsync<SimulatedCrashException>(() => crashing.CreateAsync(lost, null, CancellationToken.None));
        var next = Record(NewId(), s.Clock.GetUtcNow().AddMilliseconds(1));
        s.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await s.Status.CreateAsync(next, null, CancellationToken.None);

        s.Clock.Advance(Settle);
        Assert.Empty(await s.FeedAsync());
        s.Clock.Advance(Grace);
        Assert.Equal([(next.Id, 1L, "accepted")], (await s.FeedAsync()).Select(Identity));
        Assert.Null(await s.Status.GetAsync(lost.Id, CancellationToken.None));
        Assert.Empty(await s.OfAsync(lost.Id));
    }

    [Fact]
    public async Task Two_writers_racing_on_the_same_messages_put_exactly_the_committed_changes_in_the_feed_once()
    {
        var s = await StoresAsync();
        var records = Enumerable.Range(0, 8).Select(_ => Record(NewId(), s.Clock.GetUtcNow())).ToList();
        foreach (var record in records)
        {
            await s.Status.CreateAsync(record, null, CancellationToken.None);
        }

        s.Clock.Advance(TimeSpan.FromSeconds(1));
        var writers = new[] { s.Status, s.Another() };
        // Each message: both writers cancel it at once (one wins), and both record an attempt that defers it.
        await Task.WhenAll(records.SelectMany(r => writers.SelectMany(w => new Task[]
        {
            Task.Run(() => w.CancelAsync(r.Id, "race", CancellationToken.None)),
            Task.Run(() => w.RecordAttemptAsync(r.Id, Attempt(1, s.Clock, DeliveryOutcomeKind.Deferred, "451 later"), MessageState.Deferred,
                [new RecipientResult("b@example.net", RecipientState.Deferred, new SmtpReply(451, "4.2.0", "later"))], s.Clock.GetUtcNow().AddMinutes(1), "451 later", CancellationToken.None)),
        })));
        s.Clock.Advance(Settle + Grace);

        var feed = await s.FollowAsync(3);
        var expected = new List<(string, long, string)>();
        foreach (var record in records)
        {
            var own = (await s.OfAsync(record.Id)).Select(Identity).ToList();
            Assert.Equal(own.Select(e => e.Item2).Order(), own.Select(e => e.Item2));
            Assert.Equal(own, feed.Select(Identity).Where(e => e.Item1 == record.Id));
            expected.AddRange(own);
        }

        Assert.Equal(expected.Order(), feed.Select(Identity).Order());
        Assert.Equal(feed.Count, feed.Select(e => e.Id).Distinct().Count());
        Assert.All(await s.EntriesAsync(), e => Assert.True(e.GetBoolean("Confirmed")));
    }

    [Fact]
    public async Task A_change_too_large_for_its_entry_is_read_from_its_event_rows()
    {
        var s = await StoresAsync();
        var recipients = Enumerable.Range(0, 2000).Select(i => $"r{i:D4}@example.net").ToArray();
        var record = Record(NewId(), s.Clock.GetUtcNow(), "key-1", recipients);
        await s.Status.CreateAsync(record, null, CancellationToken.None);
        await s.Status.TryBeginSendingAsync(record.Id, CancellationToken.None);
        // Events beyond one event row (about 520,000 characters), the status row within its 1 MiB.
        var reply = "550 5.1.1 " + new string('x', 120);
        await s.Status.RecordAttemptAsync(record.Id, Attempt(1, s.Clock, DeliveryOutcomeKind.Failed, reply), MessageState.Failed,
            [.. recipients.Select(r => new RecipientResult(r, RecipientState.Failed, new SmtpReply(550, "5.1.1", new string('x', 120))))], null, reply, CancellationToken.None);
        s.Clock.Advance(Settle + TimeSpan.FromSeconds(1)); // a message's changes are a tick apart at least

        var entries = await s.EntriesAsync();
        Assert.Contains(entries, e => e.GetBoolean("Spilled") == true);
        var feed = await s.FollowAsync(1000);
        Assert.Equal(2002, feed.Count);
        Assert.Equal((await s.OfAsync(record.Id)).Select(Identity), feed.Select(Identity));
    }

    [Theory]
    [InlineData("evt_0000000000000001")]
    [InlineData("evt_")]
    [InlineData("evt_063900000000000000_m1_000000000001")]
    [InlineData("evt_0639000000000000000_m1_00000000001x")]
    [InlineData("evt_0639000000000000000_m/1_000000000001")]
    [InlineData("evt_0639000000000000000__000000000001")]
    [InlineData("evt_9999999999999999999_m1_000000000001")]
    [InlineData("' or 1 eq 1")]
    public async Task Cursors_that_are_not_feed_ids_are_refused(string cursor)
    {
        var s = await StoresAsync();
        Assert.False(s.Events.IsFeedCursor(cursor));
        Assert.True(s.Events.IsFeedCursor("evt_0639000000000000000_m1_000000000001"));
    }
}
