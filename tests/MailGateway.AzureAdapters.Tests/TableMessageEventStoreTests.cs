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
/// The event log on Table storage (Azurite): every status change of <see cref="TableMessageStatusStore"/> writes the
/// events the standalone host writes (<see cref="MessageEvents"/>), in the change's own transaction, numbered in the
/// message's sequence; <see cref="TableMessageEventStore"/> reads one message's events in that order.
/// </summary>
public sealed class TableMessageEventStoreTests
{
    private static MessageRecord Record(string id, DateTimeOffset at, MessageState state = MessageState.Queued, params string[] recipients) => new()
    {
        Id = id,
        Owner = "key-1",
        State = state,
        CreatedAt = at,
        UpdatedAt = at,
        ExpiresAt = at.AddDays(1),
        Recipients = [.. (recipients.Length == 0 ? ["b@example.net"] : recipients).Select(r => new RecipientResult(r, RecipientState.Deferred, null))],
        Tags = ["welcome"],
        Metadata = new Dictionary<string, string> { ["user"] = "42" },
    };

    private static string NewId() => "m" + Guid.NewGuid().ToString("N");

    private static DeliveryAttemptRecord Attempt(int number, FakeTimeProvider clock, DeliveryOutcomeKind outcome, string reply) =>
        new(number, clock.GetUtcNow(), TimeSpan.FromSeconds(1), outcome, 587, "Tls13", reply);

    private sealed record Stores(AzureStorageOptions Options, FakeTimeProvider Clock, TableMessageStatusStore Status, TableMessageEventStore Events)
    {
        public TableMessageStatusStore Another() => StorageFixtures.Table(Options, Clock);

        public async Task<IReadOnlyList<MessageEvent>> AllAsync(string id, long after = 0, int limit = 10_000, IReadOnlyList<string>? types = null) =>
            await Events.ReadAsync(new MessageEventQuery("key-1", after, limit, id, types), CancellationToken.None);
    }

    private static async Task<Stores> StoresAsync()
    {
        var options = await StorageFixtures.OptionsAsync();
        var clock = StorageFixtures.Clock();
        return new Stores(options, clock, StorageFixtures.Table(options, clock), new TableMessageEventStore(new TableServiceClient(options.ConnectionString), Options.Create(options)));
    }

    [Fact]
    public async Task Accept_writes_accepted_and_a_future_send_also_scheduled_with_tags_and_metadata()
    {
        var s = await StoresAsync();
        var queued = Record(NewId(), s.Clock.GetUtcNow());
        var scheduled = Record(NewId(), s.Clock.GetUtcNow(), MessageState.Scheduled) with { SendAt = s.Clock.GetUtcNow().AddHours(1) };
        await s.Status.CreateAsync(queued, null, CancellationToken.None);
        await s.Status.CreateAsync(scheduled, null, CancellationToken.None);

        var one = Assert.Single(await s.AllAsync(queued.Id));
        Assert.Equal((1L, "evt_0000000000000001", MessageEventTypes.Accepted, queued.CreatedAt, "key-1"), (one.Sequence, one.Id, one.Type, one.Time, one.Owner));
        Assert.Equal(["welcome"], one.Tags);
        Assert.Equal("42", one.Metadata["user"]);
        Assert.Null(one.Recipient);
        Assert.Equal([MessageEventTypes.Accepted, MessageEventTypes.Scheduled], (await s.AllAsync(scheduled.Id)).Select(e => e.Type));
    }

    [Fact]
    public async Task A_delivery_writes_what_the_standalone_host_writes_per_recipient_and_per_message_in_order()
    {
        var s = await StoresAsync();
        var record = Record(NewId(), s.Clock.GetUtcNow(), MessageState.Queued, "a@example.net", "b@example.net");
        await s.Status.CreateAsync(record, null, CancellationToken.None);

        // Begin sending has no event (as on SQLite); the first attempt delivers a and defers b.
        await s.Status.TryBeginSendingAsync(record.Id, CancellationToken.None);
        s.Clock.Advance(TimeSpan.FromSeconds(5));
        await s.Status.RecordAttemptAsync(record.Id, Attempt(1, s.Clock, DeliveryOutcomeKind.Deferred, "451 later"), MessageState.Deferred,
            [new RecipientResult("a@example.net", RecipientState.Delivered, new SmtpReply(250, "2.1.5", "ok")), new RecipientResult("b@example.net", RecipientState.Deferred, new SmtpReply(451, "4.2.0", "later"))],
            s.Clock.GetUtcNow().AddMinutes(5), "451 4.2.0 later", CancellationToken.None);
        // The second delivers b: a is unchanged, so no second event for a.
        await s.Status.TryBeginSendingAsync(record.Id, CancellationToken.None);
        s.Clock.Advance(TimeSpan.FromMinutes(5));
        await s.Status.RecordAttemptAsync(record.Id, Attempt(2, s.Clock, DeliveryOutcomeKind.Delivered, "250 ok"), MessageState.Delivered,
            [new RecipientResult("a@example.net", RecipientState.Delivered, new SmtpReply(250, "2.1.5", "ok")), new RecipientResult("b@example.net", RecipientState.Delivered, new SmtpReply(250, "2.0.0", "queued"))],
            null, "250 2.0.0 queued", CancellationToken.None);

        var events = await s.AllAsync(record.Id);
        Assert.Equal(
            [
                (1L, MessageEventTypes.Accepted, (string?)null, (int?)null, (string?)null),
                (2L, MessageEventTypes.Delivered, "a@example.net", 1, "250 2.1.5 ok"),
                (3L, MessageEventTypes.Deferred, "b@example.net", 1, "451 4.2.0 later"),
                (4L, MessageEventTypes.Deferred, null, 1, "451 4.2.0 later"),
                (5L, MessageEventTypes.Delivered, "b@example.net", 2, "250 2.0.0 queued"),
                (6L, MessageEventTypes.Delivered, null, 2, "250 2.0.0 queued"),
            ],
            events.Select(e => (e.Sequence, e.Type, e.Recipient, e.Attempt, e.Reply)));
        Assert.All(events.Skip(1), e => Assert.Equal(587, e.Port));
        Assert.Equal(s.Clock.GetUtcNow(), events[^1].Time);
        Assert.All(events, e => Assert.Equal((record.Id, "key-1", "welcome"), (e.MessageId, e.Owner, Assert.Single(e.Tags))));
    }

    [Fact]
    public async Task Set_state_cancel_replay_and_restore_each_write_their_event()
    {
        var s = await StoresAsync();
        var expired = Record(NewId(), s.Clock.GetUtcNow());
        var canceled = Record(NewId(), s.Clock.GetUtcNow());
        var replayed = Record(NewId(), s.Clock.GetUtcNow());
        foreach (var r in new[] { expired, canceled, replayed })
        {
            await s.Status.CreateAsync(r, null, CancellationToken.None);
        }

        await s.Status.SetStateAsync(expired.Id, MessageState.Expired, "Not delivered within 1.00:00:00", CancellationToken.None);
        var cancel = await s.Status.CancelAsync(canceled.Id, "canceled by key-1", CancellationToken.None);
        await s.Status.SetStateAsync(replayed.Id, MessageState.Failed, "dead-lettered", CancellationToken.None);
        var returned = (await s.Status.ReturnToQueueAsync(replayed.Id, s.Clock.GetUtcNow(), "replayed by operator", CancellationToken.None))!;
        Assert.True(await s.Status.RestoreAsync(returned, CancellationToken.None));

        Assert.Equal(CancelOutcome.Canceled, cancel.Outcome);
        Assert.Equal([(MessageEventTypes.Accepted, (string?)null), (MessageEventTypes.Expired, "Not delivered within 1.00:00:00")],
            (await s.AllAsync(expired.Id)).Select(e => (e.Type, e.Reply)));
        Assert.Equal([(MessageEventTypes.Accepted, (string?)null), (MessageEventTypes.Canceled, "canceled by key-1")],
            (await s.AllAsync(canceled.Id)).Select(e => (e.Type, e.Reply)));
        // The replay's deferred (reply: who replayed it), then the state it was put back to.
        Assert.Equal(
            [(1L, MessageEventTypes.Accepted, (string?)null), (2L, MessageEventTypes.Failed, "dead-lettered"), (3L, MessageEventTypes.Deferred, "replayed by operator"), (4L, MessageEventTypes.Failed, "dead-lettered")],
            (await s.AllAsync(replayed.Id)).Select(e => (e.Sequence, e.Type, e.Reply)));

        // A second cancel changes nothing and writes nothing; a stale restore (its version is gone) neither.
        Assert.Equal(CancelOutcome.NotCancelable, (await s.Status.CancelAsync(canceled.Id, "again", CancellationToken.None)).Outcome);
        Assert.False(await s.Status.RestoreAsync(returned, CancellationToken.None));
        Assert.Equal(2, (await s.AllAsync(canceled.Id)).Count);
        Assert.Equal(4, (await s.AllAsync(replayed.Id)).Count);
    }

    [Fact]
    public async Task Of_cancels_racing_workers_exactly_the_winners_events_exist()
    {
        var s = await StoresAsync();
        for (var round = 0; round < 5; round++)
        {
            var record = Record(NewId(), s.Clock.GetUtcNow());
            await s.Status.CreateAsync(record, null, CancellationToken.None);

            // Separate stores = separate processes; only the ETag decides.
            var cancels = Enumerable.Range(0, 3).Select(_ => s.Another().CancelAsync(record.Id, "canceled", CancellationToken.None)).ToList();
            var workers = Enumerable.Range(0, 3).Select(_ => s.Another().TryBeginSendingAsync(record.Id, CancellationToken.None)).ToList();
            await Task.WhenAll(cancels.Cast<Task>().Concat(workers));

            var won = cancels.Count(c => c.Result.Outcome == CancelOutcome.Canceled);
            var began = workers.Count(w => w.Result!.State.IsCancelable());
            var events = await s.AllAsync(record.Id);
            var state = (await s.Status.GetAsync(record.Id, CancellationToken.None))!.State;
            Assert.Equal(1, won + began); // one winner: a cancel, or the worker that moved it from queued
            Assert.Equal(won, events.Count(e => e.Type == MessageEventTypes.Canceled));
            Assert.Equal(won == 1 ? MessageState.Canceled : MessageState.Sending, state);
            Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        }
    }

    [Fact]
    public async Task Concurrent_attempts_that_lose_the_etag_race_retry_and_every_committed_change_has_exactly_its_event()
    {
        var s = await StoresAsync();
        var record = Record(NewId(), s.Clock.GetUtcNow());
        await s.Status.CreateAsync(record, null, CancellationToken.None);

        await Task.WhenAll(Enumerable.Range(1, 6).Select(n => s.Another().RecordAttemptAsync(
            record.Id, Attempt(n, s.Clock, DeliveryOutcomeKind.Deferred, "451 later"), MessageState.Deferred,
            [new RecipientResult("b@example.net", RecipientState.Deferred, null)], s.Clock.GetUtcNow().AddMinutes(n), "451 later", CancellationToken.None)));

        var events = await s.AllAsync(record.Id);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], events.Select(e => e.Sequence));
        Assert.Equal([1, 2, 3, 4, 5, 6], events.Skip(1).Select(e => e.Attempt!.Value).Order());
        Assert.All(events.Skip(1), e => Assert.Equal((MessageEventTypes.Deferred, (string?)null), (e.Type, e.Recipient)));
    }

    [Fact]
    public async Task Pages_follow_the_sequence_with_after_limit_and_types_and_other_keys_see_nothing()
    {
        var s = await StoresAsync();
        var record = Record(NewId(), s.Clock.GetUtcNow());
        await s.Status.CreateAsync(record, null, CancellationToken.None);
        for (var n = 1; n <= 4; n++)
        {
            await s.Status.RecordAttemptAsync(record.Id, Attempt(n, s.Clock, DeliveryOutcomeKind.Deferred, "451 later"), MessageState.Deferred,
                [new RecipientResult("b@example.net", RecipientState.Deferred, new SmtpReply(451, null, "later " + n))], s.Clock.GetUtcNow(), "451 later", CancellationToken.None);
        }

        await s.Status.SetStateAsync(record.Id, MessageState.Expired, "too old", CancellationToken.None);

        // 1 accepted, 4 × (recipient deferred, message deferred), 1 expired = 10.
        var seen = new List<long>();
        long after = 0;
        while (true)
        {
            var page = await s.AllAsync(record.Id, after, limit: 3);
            seen.AddRange(page.Select(e => e.Sequence));
            if (page.Count < 3)
            {
                break;
            }

            after = page[^1].Sequence;
        }

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), seen);
        Assert.Equal([MessageEventTypes.Accepted, MessageEventTypes.Expired], (await s.AllAsync(record.Id, types: [MessageEventTypes.Accepted, MessageEventTypes.Expired])).Select(e => e.Type));
        Assert.Equal([6L, 7], (await s.AllAsync(record.Id, after: 5, limit: 2, types: [MessageEventTypes.Deferred])).Select(e => e.Sequence));
        Assert.Empty(await s.AllAsync(record.Id, after: 10));
        Assert.Empty(await s.Events.ReadAsync(new MessageEventQuery("key-2", 0, 100, record.Id), CancellationToken.None));
        Assert.Empty(await s.AllAsync(NewId()));
        Assert.Empty(await s.AllAsync("x' or PartitionKey ne '"));
        // Without a message id it is the feed (TableEventFeedTests; this store reads on the system clock, long past the
        // fake one): the same ten events, with the feed's ids.
        var feed = await s.Events.ReadAsync(new MessageEventQuery("key-1", 0, 100), CancellationToken.None);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), feed.Select(e => e.Sequence));
        Assert.All(feed, e => Assert.True(s.Events.IsFeedCursor(e.Id)));
    }

    [Fact]
    public async Task Before_the_table_exists_a_message_has_no_events()
    {
        var options = await StorageFixtures.OptionsAsync();
        var events = new TableMessageEventStore(new TableServiceClient(options.ConnectionString), Options.Create(options));

        Assert.Empty(await events.ReadAsync(new MessageEventQuery("key-1", 0, 100, NewId()), CancellationToken.None));
    }

    [Fact]
    public async Task The_loser_of_an_idempotency_key_leaves_no_record_and_no_event_and_delete_removes_the_events()
    {
        var s = await StoresAsync();
        var claim = new IdempotencyClaim("key-1", "k1", "hash", s.Clock.GetUtcNow());
        var first = Record(NewId(), s.Clock.GetUtcNow());
        var second = Record(NewId(), s.Clock.GetUtcNow());
        Assert.True((await s.Status.CreateAsync(first, claim, CancellationToken.None)).Created);
        Assert.False((await s.Status.CreateAsync(second, claim, CancellationToken.None)).Created);

        Assert.Null(await s.Status.GetAsync(second.Id, CancellationToken.None));
        Assert.Empty(await s.AllAsync(second.Id));
        Assert.Empty(await RowsAsync(s.Options, second.Id));
        Assert.Single(await s.AllAsync(first.Id));

        await s.Status.DeleteAsync(first.Id, CancellationToken.None);
        Assert.Empty(await RowsAsync(s.Options, first.Id));
    }

    [Fact]
    public async Task The_validators_maximum_of_recipients_with_long_replies_commits_in_one_transaction()
    {
        // MessageLimitsOptions.MaxRecipients defaults to 50: 50 recipient events and the message's, each reply 2,000
        // characters, are one event row (a transaction of three entities: status, attempt, events).
        var s = await StoresAsync();
        var addresses = Enumerable.Range(0, new Core.Messages.MessageLimitsOptions().MaxRecipients).Select(i => $"user{i}@example.net").ToArray();
        var record = Record(NewId(), s.Clock.GetUtcNow(), MessageState.Queued, addresses);
        await s.Status.CreateAsync(record, null, CancellationToken.None);
        var results = addresses.Select(a => new RecipientResult(a, RecipientState.Failed, new SmtpReply(550, "5.1.1", a + " " + new string('x', 2000)))).ToList();

        await s.Status.RecordAttemptAsync(record.Id, Attempt(1, s.Clock, DeliveryOutcomeKind.Failed, "550 no"), MessageState.Failed, results, null, "550 no", CancellationToken.None);

        var events = await s.AllAsync(record.Id);
        Assert.Equal(addresses.Length + 2, events.Count);
        Assert.Equal(addresses, events.Skip(1).SkipLast(1).Select(e => e.Recipient));
        Assert.All(events.Skip(1).SkipLast(1), e => Assert.Equal(MessageEventTypes.Failed, e.Type));
        Assert.Equal(results[7].Reply!.ToString(), events[8].Reply);
        Assert.Equal(2, (await RowsAsync(s.Options, record.Id)).Count(r => r.StartsWith(TableEventRows.Prefix, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Two_thousand_recipients_commit_in_one_transaction_as_one_event_row()
    {
        // 2,002 events: far more than the 100 entities a transaction may hold if each event were its own row.
        var s = await StoresAsync();
        var addresses = Enumerable.Range(0, 2000).Select(i => $"user{i}@example.net").ToArray();
        var record = Record(NewId(), s.Clock.GetUtcNow(), MessageState.Queued, addresses);
        await s.Status.CreateAsync(record, null, CancellationToken.None);
        var results = addresses.Select(a => new RecipientResult(a, RecipientState.Delivered, new SmtpReply(250, "2.0.0", "queued as " + a))).ToList();

        await s.Status.RecordAttemptAsync(record.Id, Attempt(1, s.Clock, DeliveryOutcomeKind.Delivered, "250 ok"), MessageState.Delivered, results, null, "250 ok", CancellationToken.None);

        var events = await s.AllAsync(record.Id);
        Assert.Equal(Enumerable.Range(1, 2002).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal(addresses, events.Skip(1).SkipLast(1).Select(e => e.Recipient));
        Assert.Equal([501L, 502, 503], (await s.AllAsync(record.Id, after: 500, limit: 3)).Select(e => e.Sequence));
        Assert.Equal(2, (await RowsAsync(s.Options, record.Id)).Count(r => r.StartsWith(TableEventRows.Prefix, StringComparison.Ordinal)));
    }

    [Fact]
    public void Events_beyond_one_entity_are_packed_into_consecutive_rows_and_beyond_a_transaction_replies_are_cut_then_refused()
    {
        var status = new TableEntity("m1", "status") { [TableEventRows.SequenceProperty] = 7L };
        static List<MessageEvent> Many(int count, int replyChars) => [.. Enumerable.Range(0, count).Select(i => new MessageEvent
        {
            Type = MessageEventTypes.Failed, Time = DateTimeOffset.UnixEpoch, MessageId = "m1", Owner = "key-1",
            Recipient = $"user{i}@example.net", Attempt = 1, Port = 25, Reply = new string('r', replyChars),
        })];

        // 1,000 events of ~1,100 characters: about 1.1 M characters, three rows of at most 450,000.
        var actions = TableEventRows.Append(status, Many(1000, 1000));
        Assert.Equal(1007L, TableEventRows.LastSequence(status));
        Assert.Equal(3, actions.Count);
        var stored = actions.SelectMany(a => TableEventRows.Read((TableEntity)a.Entity)).ToList();
        Assert.Equal(Enumerable.Range(8, 1000).Select(i => (long)i), stored.Select(e => e.Seq));
        Assert.All(actions, a => Assert.Equal(TableEventRows.RowKey(((TableEntity)a.Entity).GetInt64("First")!.Value), a.Entity.RowKey));
        Assert.All(stored, e => Assert.Equal(1000, e.Reply!.Length));

        // 2,000 events of 8,000-character replies do not fit a transaction: the recipients' replies are cut to 200.
        var cut = TableEventRows.Append(status, Many(2000, 8000)).SelectMany(a => TableEventRows.Read((TableEntity)a.Entity)).ToList();
        Assert.Equal(2000, cut.Count);
        Assert.All(cut, e => Assert.Equal(200, e.Reply!.Length));

        // Even cut, 10,000 such events are more than one transaction carries: refused, the status row left as it was.
        var before = TableEventRows.LastSequence(status);
        Assert.Throws<InvalidOperationException>(() => TableEventRows.Append(status, Many(10_000, 8000)));
        Assert.Equal(before, TableEventRows.LastSequence(status));
    }

    private static async Task<List<string>> RowsAsync(AzureStorageOptions options, string id)
    {
        var table = new TableServiceClient(options.ConnectionString).GetTableClient(options.StatusTable);
        var rows = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {id}"), select: ["RowKey"]))
        {
            rows.Add(row.RowKey);
        }

        return rows;
    }
}
