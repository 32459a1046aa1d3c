using MailGateway.Core.Delivery;
using MailGateway.Core.Status;
using MailGateway.Testing.AzureAdapters;

namespace MailGateway.AzureAdapters.Tests;

/// <summary>Table storage beyond the status-port contract (<c>Contracts/AzureStoreContracts.cs</c>): ETags, chunked properties, key syntax.</summary>
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

    [Theory]
    [InlineData("x' or PartitionKey ne '")]
    [InlineData("#?")]
    [InlineData("a\\b")]
    public async Task Ids_that_cannot_be_partition_keys_or_that_try_to_change_the_query_are_not_found(string id)
    {
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), StorageFixtures.Clock());
        await store.CreateAsync(Record(NewId(), DateTimeOffset.UnixEpoch), null, CancellationToken.None);

        Assert.Null(await store.GetAsync(id, CancellationToken.None));
        Assert.Null(await store.TryBeginSendingAsync(id, CancellationToken.None));
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
    public async Task Setting_the_state_of_a_missing_record_is_an_error()
    {
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), StorageFixtures.Clock());

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.SetStateAsync(NewId(), MessageState.Failed, "x", CancellationToken.None));
    }

}
