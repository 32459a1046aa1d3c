using MailGateway.Core.Delivery;
using MailGateway.Core.Messages;
using MailGateway.Core.Status;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing.Contracts;

/// <summary>A status store as the contract suite drives it.</summary>
public interface IStatusStoreUnderTest : IAsyncDisposable
{
    /// <summary>The port.</summary>
    IMessageStatusStore Store { get; }

    /// <summary>The store's clock.</summary>
    FakeTimeProvider Time { get; }
}

/// <summary>
/// The semantics of the status port that the SQLite and the Table store share: records with every field, the
/// idempotency claim (scoped to the owner, atomic under races, kept for at least the retention of 24 h), the ledger
/// step (begin sending, final states untouched), attempts, state changes and removal.
/// </summary>
public abstract class MessageStatusStoreContract
{
    /// <summary>The start of every test's clock.</summary>
    protected static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A fresh, empty store with an idempotency-key retention of 24 hours.</summary>
    protected abstract Task<IStatusStoreUnderTest> CreateAsync();

    private static string NewId() => Guid.NewGuid().ToString("N");

    private static MessageRecord Record(string id, DateTimeOffset at, MessageState state = MessageState.Queued) => new()
    {
        Id = id,
        Owner = "key-1",
        State = state,
        CreatedAt = at,
        UpdatedAt = at,
        SendAt = at.AddMinutes(5),
        ExpiresAt = at.AddDays(1),
        NextAttemptAt = at.AddMinutes(5),
        Recipients = [new RecipientResult("b@example.net", RecipientState.Deferred, null)],
        Tags = ["welcome", "t2"],
        Metadata = new Dictionary<string, string> { ["user"] = "42" },
        ContentReference = "2026/11/28/0123456789abcdef0123456789abcdef.eml",
        Envelope = new Envelope("app@example.com", ["b@example.net", "c@example.org"]),
    };

    [Fact]
    public async Task A_created_record_reads_back_with_every_field()
    {
        await using var under = await CreateAsync();
        var record = Record(NewId(), under.Time.GetUtcNow());

        var created = await under.Store.CreateAsync(record, null, CancellationToken.None);
        var read = await under.Store.GetAsync(record.Id, CancellationToken.None);

        Assert.True(created.Created);
        Assert.Equal(record.Id, created.MessageId);
        Assert.NotNull(read);
        Assert.Equal((record.Id, "key-1", MessageState.Queued), (read.Id, read.Owner, read.State));
        Assert.Equal((record.CreatedAt, record.UpdatedAt, record.SendAt, record.ExpiresAt, record.NextAttemptAt), (read.CreatedAt, read.UpdatedAt, read.SendAt, read.ExpiresAt, read.NextAttemptAt));
        Assert.Equal(record.Recipients, read.Recipients);
        Assert.Equal(record.Tags, read.Tags);
        Assert.Equal(record.Metadata, read.Metadata);
        Assert.Equal(record.ContentReference, read.ContentReference);
        Assert.Equal(record.Envelope!.MailFrom, read.Envelope!.MailFrom);
        Assert.Equal(record.Envelope.Recipients, read.Envelope.Recipients);
        Assert.Empty(read.Attempts);
    }

    [Theory]
    [InlineData("no-such-id")]
    [InlineData("a/b")]
    [InlineData("x' or 1=1 or '")]
    public async Task Unknown_ids_are_not_found(string id)
    {
        await using var under = await CreateAsync();
        await under.Store.CreateAsync(Record(NewId(), Start), null, CancellationToken.None);

        Assert.Null(await under.Store.GetAsync(id, CancellationToken.None));
        Assert.Null(await under.Store.TryBeginSendingAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task The_same_idempotency_key_returns_the_first_message_and_its_request_hash_and_creates_nothing()
    {
        await using var under = await CreateAsync();
        var now = under.Time.GetUtcNow();
        var first = Record(NewId(), now);
        var second = Record(NewId(), now);

        var a = await under.Store.CreateAsync(first, new IdempotencyClaim("key-1", "order-7", "hash-a", now), CancellationToken.None);
        var b = await under.Store.CreateAsync(second, new IdempotencyClaim("key-1", "order-7", "hash-b", now), CancellationToken.None);

        Assert.Equal(new CreateMessageResult(true, first.Id, "hash-a"), a);
        Assert.Equal(new CreateMessageResult(false, first.Id, "hash-a"), b);
        Assert.Null(await under.Store.GetAsync(second.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Idempotency_keys_are_scoped_to_their_owner()
    {
        await using var under = await CreateAsync();
        var now = under.Time.GetUtcNow();

        var a = await under.Store.CreateAsync(Record(NewId(), now), new IdempotencyClaim("key-1", "k", "h", now), CancellationToken.None);
        var b = await under.Store.CreateAsync(Record(NewId(), now) with { Owner = "key-2" }, new IdempotencyClaim("key-2", "k", "h", now), CancellationToken.None);

        Assert.True(a.Created);
        Assert.True(b.Created);
    }

    [Fact]
    public async Task Racing_creates_with_one_key_create_exactly_one_record()
    {
        await using var under = await CreateAsync();
        var now = under.Time.GetUtcNow();
        var records = Enumerable.Range(0, 8).Select(_ => Record(NewId(), now)).ToList();

        var results = await Task.WhenAll(records.Select(r => Task.Run(() =>
            under.Store.CreateAsync(r, new IdempotencyClaim("key-1", "race", "hash", now), CancellationToken.None))));

        var winner = Assert.Single(results, r => r.Created);
        Assert.All(results, r => Assert.Equal((winner.MessageId, "hash"), (r.MessageId, r.RequestHash)));
        foreach (var loser in records.Where(r => r.Id != winner.MessageId))
        {
            Assert.Null(await under.Store.GetAsync(loser.Id, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_key_is_kept_for_its_retention_and_then_may_be_used_for_a_new_message()
    {
        await using var under = await CreateAsync();
        var first = Record(NewId(), under.Time.GetUtcNow());
        await under.Store.CreateAsync(first, new IdempotencyClaim("key-1", "k", "h1", under.Time.GetUtcNow()), CancellationToken.None);

        under.Time.Advance(TimeSpan.FromHours(23));
        var within = await under.Store.CreateAsync(Record(NewId(), under.Time.GetUtcNow()), new IdempotencyClaim("key-1", "k", "h2", under.Time.GetUtcNow()), CancellationToken.None);
        under.Time.Advance(TimeSpan.FromHours(2));
        var later = Record(NewId(), under.Time.GetUtcNow());
        var after = await under.Store.CreateAsync(later, new IdempotencyClaim("key-1", "k", "h3", under.Time.GetUtcNow()), CancellationToken.None);

        Assert.Equal(new CreateMessageResult(false, first.Id, "h1"), within);
        Assert.Equal(new CreateMessageResult(true, later.Id, "h3"), after);
    }

    [Fact]
    public async Task Begin_sending_moves_to_sending_and_returns_the_record_as_it_was()
    {
        await using var under = await CreateAsync();
        var record = Record(NewId(), under.Time.GetUtcNow());
        await under.Store.CreateAsync(record, null, CancellationToken.None);
        under.Time.Advance(TimeSpan.FromSeconds(3));

        var before = await under.Store.TryBeginSendingAsync(record.Id, CancellationToken.None);
        var now = await under.Store.GetAsync(record.Id, CancellationToken.None);

        Assert.Equal(MessageState.Queued, before!.State);
        Assert.Equal(MessageState.Sending, now!.State);
        Assert.Equal(under.Time.GetUtcNow(), now.UpdatedAt);
    }

    [Theory]
    [InlineData(MessageState.Delivered)]
    [InlineData(MessageState.Failed)]
    [InlineData(MessageState.Expired)]
    [InlineData(MessageState.Unknown)]
    public async Task Begin_sending_leaves_a_final_state_alone(MessageState final)
    {
        await using var under = await CreateAsync();
        var record = Record(NewId(), under.Time.GetUtcNow(), final);
        await under.Store.CreateAsync(record, null, CancellationToken.None);

        var before = await under.Store.TryBeginSendingAsync(record.Id, CancellationToken.None);

        Assert.True(final.IsFinal());
        Assert.Equal(final, before!.State);
        Assert.Equal(final, (await under.Store.GetAsync(record.Id, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task Attempts_are_appended_with_the_new_state_recipients_next_attempt_and_reply()
    {
        await using var under = await CreateAsync();
        var record = Record(NewId(), under.Time.GetUtcNow());
        await under.Store.CreateAsync(record, null, CancellationToken.None);
        var start = under.Time.GetUtcNow();
        var deferred = new[] { new RecipientResult("b@example.net", RecipientState.Deferred, new SmtpReply(451, "4.7.1", "try later")) };
        var delivered = new[] { new RecipientResult("b@example.net", RecipientState.Delivered, new SmtpReply(250, "2.0.0", "queued as 1")) };

        await under.Store.TryBeginSendingAsync(record.Id, CancellationToken.None);
        await under.Store.RecordAttemptAsync(record.Id, new DeliveryAttemptRecord(1, start, TimeSpan.FromMilliseconds(1500), DeliveryOutcomeKind.Deferred, 587, "Tls13", "451 4.7.1 try later"),
            MessageState.Deferred, deferred, start.AddMinutes(1), "451 4.7.1 try later", CancellationToken.None);
        var afterFirst = (await under.Store.GetAsync(record.Id, CancellationToken.None))!;
        await under.Store.TryBeginSendingAsync(record.Id, CancellationToken.None);
        await under.Store.RecordAttemptAsync(record.Id, new DeliveryAttemptRecord(2, start.AddMinutes(1), TimeSpan.FromSeconds(2), DeliveryOutcomeKind.Delivered, 465, "Tls12", "250 2.0.0 queued as 1"),
            MessageState.Delivered, delivered, null, "250 2.0.0 queued as 1", CancellationToken.None);

        var read = (await under.Store.GetAsync(record.Id, CancellationToken.None))!;
        Assert.Equal((MessageState.Deferred, start.AddMinutes(1)), (afterFirst.State, afterFirst.NextAttemptAt));
        Assert.Equal(MessageState.Delivered, read.State);
        Assert.Null(read.NextAttemptAt);
        Assert.Equal("250 2.0.0 queued as 1", read.LastReply);
        Assert.Equal(delivered, read.Recipients);
        Assert.Equal(
            [
                new DeliveryAttemptRecord(1, start, TimeSpan.FromMilliseconds(1500), DeliveryOutcomeKind.Deferred, 587, "Tls13", "451 4.7.1 try later"),
                new DeliveryAttemptRecord(2, start.AddMinutes(1), TimeSpan.FromSeconds(2), DeliveryOutcomeKind.Delivered, 465, "Tls12", "250 2.0.0 queued as 1"),
            ],
            read.Attempts);
        Assert.Equal(record.Tags, read.Tags);
        Assert.Equal(record.ContentReference, read.ContentReference);
    }

    [Fact]
    public async Task Set_state_changes_state_and_reply_and_keeps_the_rest()
    {
        await using var under = await CreateAsync();
        var record = Record(NewId(), under.Time.GetUtcNow());
        await under.Store.CreateAsync(record, null, CancellationToken.None);

        await under.Store.SetStateAsync(record.Id, MessageState.Expired, "not delivered within 5 days", CancellationToken.None);

        var read = (await under.Store.GetAsync(record.Id, CancellationToken.None))!;
        Assert.Equal((MessageState.Expired, "not delivered within 5 days"), (read.State, read.LastReply));
        Assert.Null(read.NextAttemptAt);
        Assert.Equal(record.Recipients, read.Recipients);
        Assert.Equal(record.Tags, read.Tags);
        Assert.Equal(record.Metadata, read.Metadata);
    }

    [Fact]
    public async Task Recording_an_attempt_of_a_missing_record_is_an_error()
    {
        await using var under = await CreateAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => under.Store.RecordAttemptAsync(
            NewId(), new DeliveryAttemptRecord(1, Start, TimeSpan.Zero, DeliveryOutcomeKind.Failed, null, null, null),
            MessageState.Failed, [], null, null, CancellationToken.None));
    }

    [Fact]
    public async Task A_second_record_with_the_same_id_is_refused()
    {
        await using var under = await CreateAsync();
        var record = Record(NewId(), under.Time.GetUtcNow());
        await under.Store.CreateAsync(record, null, CancellationToken.None);

        await Assert.ThrowsAnyAsync<Exception>(() => under.Store.CreateAsync(record with { Owner = "key-2" }, null, CancellationToken.None));
        Assert.Equal("key-1", (await under.Store.GetAsync(record.Id, CancellationToken.None))!.Owner);
    }

    [Fact]
    public async Task A_deleted_record_is_gone_with_its_attempts_and_deleting_twice_is_fine()
    {
        await using var under = await CreateAsync();
        var record = Record(NewId(), under.Time.GetUtcNow());
        var kept = Record(NewId(), under.Time.GetUtcNow());
        await under.Store.CreateAsync(record, null, CancellationToken.None);
        await under.Store.CreateAsync(kept, null, CancellationToken.None);
        await under.Store.RecordAttemptAsync(record.Id, new DeliveryAttemptRecord(1, Start, TimeSpan.Zero, DeliveryOutcomeKind.Deferred, 587, null, "451 later"),
            MessageState.Deferred, [], Start.AddMinutes(1), "451 later", CancellationToken.None);

        await under.Store.DeleteAsync(record.Id, CancellationToken.None);
        await under.Store.DeleteAsync(record.Id, CancellationToken.None);

        Assert.Null(await under.Store.GetAsync(record.Id, CancellationToken.None));
        Assert.NotNull(await under.Store.GetAsync(kept.Id, CancellationToken.None));
        await under.Store.CreateAsync(record, null, CancellationToken.None);
        Assert.Empty((await under.Store.GetAsync(record.Id, CancellationToken.None))!.Attempts);
    }

    [Fact]
    public async Task The_store_is_ready()
    {
        await using var under = await CreateAsync();

        Assert.True(await under.Store.IsReadyAsync(CancellationToken.None));
    }
}
