using MailGateway.Core.Delivery;
using MailGateway.Core.Status;

namespace MailGateway.AzureAdapters.Tests;

public sealed class TableMessageStatusStoreTests
{
    private static MessageRecord Record(string id, DateTimeOffset at, MessageState state = MessageState.Queued) => new()
    {
        Id = id,
        Owner = "key-1",
        State = state,
        CreatedAt = at,
        UpdatedAt = at,
        SendAt = at.AddMinutes(5),
        ExpiresAt = at.AddDays(1),
        Recipients = [new RecipientResult("b@example.net", RecipientState.Deferred, null)],
        Tags = ["welcome", "t2"],
        Metadata = new Dictionary<string, string> { ["user"] = "42" },
    };

    private static string NewId() => "m" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Created_record_reads_back_with_every_field()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var record = Record(NewId(), clock.GetUtcNow());

        var created = await store.CreateAsync(record, null, CancellationToken.None);
        var read = await store.GetAsync(record.Id, CancellationToken.None);

        Assert.Equal(new CreateMessageResult(true, record.Id, ""), created);
        Assert.NotNull(read);
        Assert.Equal(record.Id, read.Id);
        Assert.Equal("key-1", read.Owner);
        Assert.Equal(MessageState.Queued, read.State);
        Assert.Equal(record.CreatedAt, read.CreatedAt);
        Assert.Equal(record.SendAt, read.SendAt);
        Assert.Equal(record.ExpiresAt, read.ExpiresAt);
        Assert.Null(read.NextAttemptAt);
        Assert.Equal(record.Recipients, read.Recipients);
        Assert.Equal(record.Tags, read.Tags);
        Assert.Equal(record.Metadata, read.Metadata);
        Assert.Empty(read.Attempts);
    }

    [Theory]
    [InlineData("no-such-id")]
    [InlineData("a/b")]
    [InlineData("x' or PartitionKey ne '")]
    [InlineData("#?")]
    public async Task Unknown_or_impossible_ids_are_not_found(string id)
    {
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), StorageFixtures.Clock());
        await store.CreateAsync(Record(NewId(), DateTimeOffset.UnixEpoch), null, CancellationToken.None);

        Assert.Null(await store.GetAsync(id, CancellationToken.None));
        Assert.Null(await store.TryBeginSendingAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task Same_idempotency_key_returns_the_first_message_and_its_request_hash()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var first = Record(NewId(), clock.GetUtcNow());
        var second = Record(NewId(), clock.GetUtcNow());

        var a = await store.CreateAsync(first, new IdempotencyClaim("key-1", "order-7", "hash-a", clock.GetUtcNow()), CancellationToken.None);
        var b = await store.CreateAsync(second, new IdempotencyClaim("key-1", "order-7", "hash-b", clock.GetUtcNow()), CancellationToken.None);

        Assert.Equal(new CreateMessageResult(true, first.Id, "hash-a"), a);
        Assert.Equal(new CreateMessageResult(false, first.Id, "hash-a"), b);
        Assert.Null(await store.GetAsync(second.Id, CancellationToken.None)); // the loser's record is removed
    }

    [Fact]
    public async Task Idempotency_keys_are_scoped_to_their_owner()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);

        var a = await store.CreateAsync(Record(NewId(), clock.GetUtcNow()), new IdempotencyClaim("key-1", "k", "h", clock.GetUtcNow()), CancellationToken.None);
        var b = await store.CreateAsync(Record(NewId(), clock.GetUtcNow()), new IdempotencyClaim("key-2", "k", "h", clock.GetUtcNow()), CancellationToken.None);

        Assert.True(a.Created);
        Assert.True(b.Created);
    }

    [Fact]
    public async Task Racing_requests_with_one_key_create_exactly_one_message()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var records = Enumerable.Range(0, 8).Select(_ => Record(NewId(), clock.GetUtcNow())).ToList();

        var results = await Task.WhenAll(records.Select(r =>
            store.CreateAsync(r, new IdempotencyClaim("key-1", "race", "hash", clock.GetUtcNow()), CancellationToken.None)));

        var winner = Assert.Single(results, r => r.Created);
        Assert.All(results, r => Assert.Equal(winner.MessageId, r.MessageId));
        foreach (var loser in records.Where(r => r.Id != winner.MessageId))
        {
            Assert.Null(await store.GetAsync(loser.Id, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_key_past_its_retention_may_be_used_for_a_new_message()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var first = Record(NewId(), clock.GetUtcNow());
        await store.CreateAsync(first, new IdempotencyClaim("key-1", "k", "h1", clock.GetUtcNow()), CancellationToken.None);

        clock.Advance(TimeSpan.FromHours(23));
        var within = await store.CreateAsync(Record(NewId(), clock.GetUtcNow()), new IdempotencyClaim("key-1", "k", "h2", clock.GetUtcNow()), CancellationToken.None);
        clock.Advance(TimeSpan.FromHours(2));
        var later = Record(NewId(), clock.GetUtcNow());
        var after = await store.CreateAsync(later, new IdempotencyClaim("key-1", "k", "h3", clock.GetUtcNow()), CancellationToken.None);

        Assert.Equal(new CreateMessageResult(false, first.Id, "h1"), within);
        Assert.Equal(new CreateMessageResult(true, later.Id, "h3"), after);
    }

    [Fact]
    public async Task Begin_sending_moves_to_sending_and_returns_the_state_before()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var record = Record(NewId(), clock.GetUtcNow());
        await store.CreateAsync(record, null, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(3));

        var before = await store.TryBeginSendingAsync(record.Id, CancellationToken.None);
        var now = await store.GetAsync(record.Id, CancellationToken.None);

        Assert.Equal(MessageState.Queued, before!.State);
        Assert.Equal(MessageState.Sending, now!.State);
        Assert.Equal(clock.GetUtcNow(), now.UpdatedAt);
    }

    [Theory]
    [InlineData(MessageState.Delivered)]
    [InlineData(MessageState.Failed)]
    [InlineData(MessageState.Expired)]
    [InlineData(MessageState.Unknown)]
    public async Task Begin_sending_leaves_a_final_state_alone(MessageState final)
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var record = Record(NewId(), clock.GetUtcNow(), final);
        await store.CreateAsync(record, null, CancellationToken.None);

        var before = await store.TryBeginSendingAsync(record.Id, CancellationToken.None);

        Assert.Equal(final, before!.State);
        Assert.Equal(final, (await store.GetAsync(record.Id, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task Of_two_workers_beginning_at_once_only_one_sees_the_queued_state()
    {
        var clock = StorageFixtures.Clock();
        var options = await StorageFixtures.OptionsAsync();
        var record = Record(NewId(), clock.GetUtcNow());
        await StorageFixtures.Table(options, clock).CreateAsync(record, null, CancellationToken.None);

        // Two stores = two workers; the ETag decides which one moved it from queued.
        var workers = Enumerable.Range(0, 6).Select(_ => StorageFixtures.Table(options, clock)).ToList();
        var befores = await Task.WhenAll(workers.Select(w => w.TryBeginSendingAsync(record.Id, CancellationToken.None)));

        Assert.Single(befores, b => b!.State == MessageState.Queued);
        Assert.All(befores.Where(b => b!.State != MessageState.Queued), b => Assert.Equal(MessageState.Sending, b!.State));
    }

    [Fact]
    public async Task Attempts_are_appended_with_the_new_state_recipients_and_next_attempt()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var record = Record(NewId(), clock.GetUtcNow());
        await store.CreateAsync(record, null, CancellationToken.None);
        var start = clock.GetUtcNow();
        var deferredReply = "451 4.7.1 try later";
        var deferredRecipients = new[] { new RecipientResult("b@example.net", RecipientState.Deferred, new SmtpReply(451, "4.7.1", "try later")) };

        await store.TryBeginSendingAsync(record.Id, CancellationToken.None);
        await store.RecordAttemptAsync(record.Id, new DeliveryAttemptRecord(1, start, TimeSpan.FromMilliseconds(1500), DeliveryOutcomeKind.Deferred, 587, "Tls13", deferredReply),
            MessageState.Deferred, deferredRecipients, start.AddMinutes(1), deferredReply, CancellationToken.None);
        await store.TryBeginSendingAsync(record.Id, CancellationToken.None);
        var delivered = new[] { new RecipientResult("b@example.net", RecipientState.Delivered, new SmtpReply(250, "2.0.0", "queued as 1")) };
        await store.RecordAttemptAsync(record.Id, new DeliveryAttemptRecord(2, start.AddMinutes(1), TimeSpan.FromSeconds(2), DeliveryOutcomeKind.Delivered, 465, "Tls12", "250 2.0.0 queued as 1"),
            MessageState.Delivered, delivered, null, "250 2.0.0 queued as 1", CancellationToken.None);

        var read = (await store.GetAsync(record.Id, CancellationToken.None))!;
        Assert.Equal(MessageState.Delivered, read.State);
        Assert.Null(read.NextAttemptAt);
        Assert.Equal("250 2.0.0 queued as 1", read.LastReply);
        Assert.Equal(delivered, read.Recipients);
        Assert.Equal(
            [
                new DeliveryAttemptRecord(1, start, TimeSpan.FromMilliseconds(1500), DeliveryOutcomeKind.Deferred, 587, "Tls13", deferredReply),
                new DeliveryAttemptRecord(2, start.AddMinutes(1), TimeSpan.FromSeconds(2), DeliveryOutcomeKind.Delivered, 465, "Tls12", "250 2.0.0 queued as 1"),
            ],
            read.Attempts);
    }

    [Fact]
    public async Task Many_recipients_fit_beyond_one_property_and_shrink_again()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var many = Enumerable.Range(0, 2000).Select(i => new RecipientResult($"user{i}@example.net", RecipientState.Deferred, new SmtpReply(451, null, "later"))).ToList();
        var record = Record(NewId(), clock.GetUtcNow()) with { Recipients = many };
        await store.CreateAsync(record, null, CancellationToken.None);
        Assert.Equal(many, (await store.GetAsync(record.Id, CancellationToken.None))!.Recipients);

        var one = new[] { new RecipientResult("user0@example.net", RecipientState.Delivered, null) };
        await store.RecordAttemptAsync(record.Id, new DeliveryAttemptRecord(1, clock.GetUtcNow(), TimeSpan.Zero, DeliveryOutcomeKind.Delivered, 587, null, "250 ok"),
            MessageState.Delivered, one, null, "250 ok", CancellationToken.None);

        Assert.Equal(one, (await store.GetAsync(record.Id, CancellationToken.None))!.Recipients);
    }

    [Fact]
    public async Task Set_state_changes_state_and_reply_only()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var record = Record(NewId(), clock.GetUtcNow());
        await store.CreateAsync(record, null, CancellationToken.None);

        await store.SetStateAsync(record.Id, MessageState.Expired, "not delivered within 5 days", CancellationToken.None);

        var read = (await store.GetAsync(record.Id, CancellationToken.None))!;
        Assert.Equal(MessageState.Expired, read.State);
        Assert.Equal("not delivered within 5 days", read.LastReply);
        Assert.Equal(record.Recipients, read.Recipients);
        Assert.Equal(record.Tags, read.Tags);
    }

    [Fact]
    public async Task Ready_against_azurite()
    {
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), StorageFixtures.Clock());
        Assert.True(await store.IsReadyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_updates_of_one_record_all_land_through_etag_retries()
    {
        var clock = StorageFixtures.Clock();
        var options = await StorageFixtures.OptionsAsync();
        var record = Record(NewId(), clock.GetUtcNow());
        await StorageFixtures.Table(options, clock).CreateAsync(record, null, CancellationToken.None);

        await Task.WhenAll(Enumerable.Range(1, 5).Select(n =>
            StorageFixtures.Table(options, clock).RecordAttemptAsync(
                record.Id,
                new DeliveryAttemptRecord(n, clock.GetUtcNow(), TimeSpan.FromSeconds(n), DeliveryOutcomeKind.Deferred, 587, null, "451 later"),
                MessageState.Deferred,
                [new RecipientResult("b@example.net", RecipientState.Deferred, null)],
                clock.GetUtcNow().AddMinutes(n),
                "451 later",
                CancellationToken.None)));

        var read = (await StorageFixtures.Table(options, clock).GetAsync(record.Id, CancellationToken.None))!;
        Assert.Equal([1, 2, 3, 4, 5], read.Attempts.Select(a => a.Number));
        Assert.Equal(MessageState.Deferred, read.State);
    }

    [Fact]
    public async Task Updating_a_missing_record_is_an_error()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.SetStateAsync(NewId(), MessageState.Failed, "x", CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.RecordAttemptAsync(
            NewId(), new DeliveryAttemptRecord(1, clock.GetUtcNow(), TimeSpan.Zero, DeliveryOutcomeKind.Failed, null, null, null),
            MessageState.Failed, [], null, null, CancellationToken.None));
    }

    [Fact]
    public async Task A_second_record_with_the_same_id_is_refused()
    {
        var clock = StorageFixtures.Clock();
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), clock);
        var record = Record(NewId(), clock.GetUtcNow());
        await store.CreateAsync(record, null, CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.CreateAsync(record, null, CancellationToken.None));
    }
}
