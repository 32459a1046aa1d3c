using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.AzureAdapters.Tests.Contracts;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Testing.AzureAdapters;
using MailGateway.Testing.Contracts;

namespace MailGateway.AzureAdapters.Tests;

/// <summary>
/// The Service Bus dead-letter store beyond the shared contract: the lock and the transaction of a replay, the scan
/// that defers what it passes, what Service Bus dead-lettered itself (in-memory broker; Table and Blob on Azurite).
/// </summary>
public sealed class ServiceBusDeadLetterStoreTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private static string Id(string prefix) => prefix + Guid.NewGuid().ToString("N")[..16];

    private static async Task<string> DeadLetterIdAsync(ServiceBusDeadLetters under, string messageId) =>
        Assert.Single((await under.Store.ListAsync(new DeadLetterQuery { Limit = 100 }, None)).Items, e => e.MessageId == messageId).Id;

    /// <summary>Holds the first complete of a dead letter until released; the others pass.</summary>
    private sealed class FirstCompleteGate
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public Task Entered => _entered.Task;

        public Task HoldAsync()
        {
            if (Interlocked.Increment(ref _calls) != 1)
            {
                return Task.CompletedTask;
            }

            _entered.SetResult();
            return _release.Task;
        }

        public void Release() => _release.SetResult();
    }

    [Fact]
    public async Task A_replay_held_inside_its_transaction_keeps_a_second_replay_and_a_purge_out_and_makes_one_job()
    {
        var under = await ServiceBusDeadLetters.CreateAsync(Start);
        var dead = await DeadLetterStoreContract.DeadLetterAsync(under, Id("held"));
        var id = await DeadLetterIdAsync(under, dead.MessageId);
        var gate = new FirstCompleteGate();
        under.Bus.BeforeDeadLetterComplete = gate.HoldAsync;

        var first = Task.Run(() => under.Store.ReplayAsync(id, "first", None));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        var second = await under.Store.ReplayAsync(id, "second", None);
        var purged = await under.Store.PurgeAsync(id, None);
        gate.Release();
        var firstResult = await first.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((ReplayOutcome.Replayed, ReplayOutcome.NotFound, false), (firstResult.Outcome, second.Outcome, purged));
        var job = Assert.Single(under.Bus.Waiting);
        Assert.Equal(dead.MessageId + "#2", job.MessageId);
        Assert.Empty(under.Bus.DeadLetters);
        var record = await under.Table.GetAsync(dead.MessageId, None);
        Assert.NotNull(record);
        Assert.Equal(MessageState.Deferred, record.State);
        Assert.Equal("first", record.LastReply);
    }

    [Fact]
    public async Task A_replay_whose_send_fails_leaves_the_dead_letter_and_puts_the_record_back()
    {
        var under = await ServiceBusDeadLetters.CreateAsync(Start);
        var dead = await DeadLetterStoreContract.DeadLetterAsync(under, Id("fail"));
        var id = await DeadLetterIdAsync(under, dead.MessageId);
        under.Bus.FailWith = new ServiceBusException("down", ServiceBusFailureReason.ServiceCommunicationProblem);

        await Assert.ThrowsAsync<ServiceBusException>(() => under.Store.ReplayAsync(id, "replay", None));

        Assert.Empty(under.Bus.Waiting);
        Assert.NotNull(await under.Store.GetAsync(id, None));
        var record = await under.Table.GetAsync(dead.MessageId, None);
        Assert.NotNull(record);
        Assert.Equal(MessageState.Failed, record.State);
        Assert.Equal("550 5.1.1 No such user", record.LastReply);
        Assert.Null(record.NextAttemptAt);

        under.Bus.FailWith = null;
        Assert.Equal(ReplayOutcome.Replayed, (await under.Store.ReplayAsync(id, "replay", None)).Outcome);
        Assert.Single(under.Bus.Waiting);
        Assert.Empty(under.Bus.DeadLetters);
    }

    [Fact]
    public async Task A_replay_whose_lock_ran_out_loses_to_the_one_that_took_over_and_there_is_still_one_job()
    {
        var under = await ServiceBusDeadLetters.CreateAsync(Start);
        var dead = await DeadLetterStoreContract.DeadLetterAsync(under, Id("late"));
        var id = await DeadLetterIdAsync(under, dead.MessageId);
        var gate = new FirstCompleteGate();
        under.Bus.BeforeDeadLetterComplete = gate.HoldAsync;

        var first = Task.Run(() => under.Store.ReplayAsync(id, "first", None));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        under.Time.Advance(under.Bus.LockDuration + TimeSpan.FromSeconds(1));
        var second = await under.Store.ReplayAsync(id, "second", None);
        gate.Release();

        Assert.Equal(ReplayOutcome.Replayed, second.Outcome);
        var lost = await Assert.ThrowsAsync<ServiceBusException>(() => first.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(ServiceBusFailureReason.MessageLockLost, lost.Reason);
        Assert.Single(under.Bus.Waiting);
        var record = await under.Table.GetAsync(dead.MessageId, None);
        Assert.NotNull(record);
        Assert.Equal(MessageState.Deferred, record.State);
        Assert.Equal("second", record.LastReply);
    }

    [Fact]
    public async Task Taking_the_newest_dead_letter_defers_the_older_ones_so_they_are_then_taken_by_number()
    {
        var under = await ServiceBusDeadLetters.CreateAsync(Start);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var dead = await DeadLetterStoreContract.DeadLetterAsync(under, Id($"scan{i}"));
            ids.Add(await DeadLetterIdAsync(under, dead.MessageId));
        }

        Assert.True(await under.Store.PurgeAsync(ids[^1], None));

        var states = (await under.Bus.DeadLetterQueue.PeekAsync(0, 10, None)).Select(m => m.State).ToList();
        Assert.Equal([ServiceBusMessageState.Deferred, ServiceBusMessageState.Deferred, ServiceBusMessageState.Deferred], states);
        Assert.Empty(await under.Bus.DeadLetterQueue.ReceiveAsync(10, None));
        var results = new List<ReplayOutcome>();
        foreach (var id in ids[..^1])
        {
            results.Add((await under.Store.ReplayAsync(id, "replay", None)).Outcome);
        }

        Assert.Equal([ReplayOutcome.Replayed, ReplayOutcome.Replayed, ReplayOutcome.Replayed], results);
        Assert.Equal(3, under.Bus.Waiting.Count);
        Assert.Empty(under.Bus.DeadLetters);
    }

    [Fact]
    public async Task Dead_letters_past_the_scan_limit_are_not_listed_or_taken_until_older_ones_go()
    {
        var under = await ServiceBusDeadLetters.CreateAsync(Start, scanLimit: 100);
        for (var i = 0; i < 100; i++)
        {
            under.Bus.AddDeadLetter(DeliveryJobMessages.Create(Jobs.Job(Id("filler"), attempt: 1), null), DeadLetterReasons.Failed, "filler");
        }

        var last = await DeadLetterStoreContract.DeadLetterAsync(under, Id("past"));
        var lastId = under.Bus.DeadLetters[^1].Message.SequenceNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var page = await under.Store.ListAsync(new DeadLetterQuery { Limit = 100 }, None);
        Assert.Equal(100, page.Items.Count);
        Assert.DoesNotContain(page.Items, e => e.MessageId == last.MessageId);
        Assert.Equal(ReplayOutcome.NotFound, (await under.Store.ReplayAsync(lastId, "replay", None)).Outcome);
        Assert.Empty(under.Bus.Waiting);

        // The scan deferred the hundred it passed; purging one makes room.
        Assert.True(await under.Store.PurgeAsync(page.Items[0].Id, None));
        Assert.NotNull(await under.Store.GetAsync(lastId, None));
        Assert.Contains((await under.Store.ListAsync(new DeadLetterQuery { Limit = 100 }, None)).Items, e => e.MessageId == last.MessageId);
        Assert.Equal(ReplayOutcome.Replayed, (await under.Store.ReplayAsync(lastId, "replay", None)).Outcome);
    }

    [Fact]
    public async Task A_dead_letter_Service_Bus_made_itself_is_listed_with_its_own_reason_and_replayable()
    {
        var under = await ServiceBusDeadLetters.CreateAsync(Start);
        var accepted = await DeadLetterStoreContract.DeadLetterAsync(under, Id("sb"));
        await under.Store.PurgeAsync(await DeadLetterIdAsync(under, accepted.MessageId), None);
        var job = accepted with { ContentReference = (await under.Content.SaveAsync(accepted.MessageId, "Subject: x\r\n\r\nx\r\n"u8.ToArray(), None)) };
        under.Time.Advance(TimeSpan.FromMinutes(3));
        under.Bus.AddDeadLetter(DeliveryJobMessages.Create(job, null), "MaxDeliveryCountExceeded", "Message could not be consumed after 11 delivery attempts.");

        var entry = Assert.Single((await under.Store.ListAsync(new DeadLetterQuery(), None)).Items);

        Assert.Equal(("MaxDeliveryCountExceeded", "key-1", 1, Start.AddMinutes(3)), (entry.Reason, entry.Owner, entry.Attempt, entry.DeadLetteredAt));
        Assert.Equal(ReplayOutcome.Replayed, (await under.Store.ReplayAsync(entry.Id, "replay", None)).Outcome);
        Assert.Equal(accepted.MessageId + "#2", Assert.Single(under.Bus.Waiting).MessageId);
    }

    [Fact]
    public async Task The_worker_stamps_the_time_and_the_delivery_count_on_what_it_dead_letters()
    {
        var under = await ServiceBusDeadLetters.CreateAsync(Start);
        under.Time.Advance(TimeSpan.FromMinutes(7));

        await DeadLetterStoreContract.DeadLetterAsync(under, Id("stamp"));

        var (message, _, _) = Assert.Single(under.Bus.DeadLetters);
        Assert.Equal(Start.AddMinutes(7).ToUnixTimeMilliseconds(), message.ApplicationProperties[DeliveryJobMessages.DeadLetteredAtProperty]);
        Assert.Equal(1, message.ApplicationProperties[DeliveryJobMessages.DeliveryCountProperty]);
    }

    /// <summary>Counts the requests a Table client sends.</summary>
    private sealed class RequestCounter : Azure.Core.Pipeline.HttpPipelineSynchronousPolicy
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Reset() => Interlocked.Exchange(ref _count, 0);

        public override void OnSendingRequest(Azure.Core.HttpMessage message) => Interlocked.Increment(ref _count);
    }

    /// <summary>A dead-letter store whose Table status store counts its requests (Azurite; in-memory broker).</summary>
    private static async Task<(ServiceBusDeadLetterStore Store, InMemoryServiceBus Bus, MailGateway.AzureAdapters.Status.TableMessageStatusStore Table, RequestCounter Requests)> CountingStoreAsync()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start);
        var options = await StorageFixtures.OptionsAsync();
        var requests = new RequestCounter();
        var tableOptions = new Azure.Data.Tables.TableClientOptions();
        tableOptions.AddPolicy(requests, Azure.Core.HttpPipelinePosition.PerCall);
        var table = new MailGateway.AzureAdapters.Status.TableMessageStatusStore(
            new Azure.Data.Tables.TableServiceClient(options.ConnectionString, tableOptions), Microsoft.Extensions.Options.Options.Create(options), time,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<MailGateway.AzureAdapters.Status.TableMessageStatusStore>.Instance);
        var bus = new InMemoryServiceBus(time);
        var store = new ServiceBusDeadLetterStore(bus.DeadLetterQueue, table, StorageFixtures.Blob(options, time),
            Microsoft.Extensions.Options.Options.Create(new ServiceBusQueueOptions { ConnectionString = "unused" }), time,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ServiceBusDeadLetterStore>.Instance);
        return (store, bus, table, requests);
    }

    /// <summary>A failed message's record (owned by <paramref name="recordOwner"/>) and its job in the sub-queue as the worker leaves it, with <paramref name="ownerProperty"/> as the message's owner property (none when null).</summary>
    private static async Task<string> AddDeadLetterAsync(
        InMemoryServiceBus bus, MailGateway.AzureAdapters.Status.TableMessageStatusStore table, string id, string recordOwner, object? ownerProperty)
    {
        await table.CreateAsync(new MessageRecord
        {
            Id = id, Owner = recordOwner, State = MessageState.Failed, CreatedAt = Start, UpdatedAt = Start,
            LastReply = "550 5.1.1 No such user", Envelope = new MailGateway.Core.Messages.Envelope("app@example.com", ["b@example.net"]),
        }, null, None);
        var message = DeliveryJobMessages.Create(Jobs.Job(id), null);
        if (ownerProperty is not null)
        {
            message.ApplicationProperties[DeliveryJobMessages.OwnerProperty] = ownerProperty;
        }

        foreach (var (name, value) in DeliveryJobMessages.DeadLetterProperties(Start, 1))
        {
            message.ApplicationProperties[name] = value;
        }

        bus.AddDeadLetter(message, DeadLetterReasons.Failed, "550 5.1.1 No such user");
        return id;
    }

    [Fact]
    public async Task A_page_for_one_key_takes_the_owner_from_the_messages_and_reads_the_Table_only_for_those_without_it()
    {
        var (store, bus, table, requests) = await CountingStoreAsync();
        var carried = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < 30; i++)
        {
            var owner = $"key-{i % 3}";
            carried[await AddDeadLetterAsync(bus, table, Id($"own{i:D2}"), owner, owner)] = owner;
        }

        requests.Reset();
        var page = await store.ListAsync(new DeadLetterQuery { Owner = "key-1", Limit = 50 }, None);
        var read = await store.GetAsync(page.Items[0].Id, None);

        Assert.Equal(10, page.Items.Count);
        Assert.All(page.Items, e => Assert.Equal(("key-1", "key-1"), (e.Owner, carried[e.MessageId])));
        Assert.Equal("key-1", read?.Owner);
        Assert.Equal(0, requests.Count);

        // Two dead letters of an earlier version (no owner on the message): one Table read each, for any key's page.
        var older = new[] { await AddDeadLetterAsync(bus, table, Id("old"), "key-0", null), await AddDeadLetterAsync(bus, table, Id("old"), "key-0", null) };
        requests.Reset();
        var keyZero = await store.ListAsync(new DeadLetterQuery { Owner = "key-0", Limit = 50 }, None);
        Assert.Equal(12, keyZero.Items.Count);
        Assert.All(older, id => Assert.Contains(keyZero.Items, e => e.MessageId == id && e.Owner == "key-0"));
        Assert.Equal(2, requests.Count);
        requests.Reset();
        Assert.Equal(10, (await store.ListAsync(new DeadLetterQuery { Owner = "key-1", Limit = 50 }, None)).Items.Count);
        Assert.Equal(2, requests.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData(42)]
    [InlineData("key\nforged")]
    [InlineData("long")]
    public async Task An_owner_property_that_cannot_be_an_owner_is_ignored_and_the_Table_record_decides(object property)
    {
        var (store, bus, table, requests) = await CountingStoreAsync();
        var value = property is "long" ? new string('k', DeliveryJobMessages.MaxOwnerLength + 1) : property;
        var id = await AddDeadLetterAsync(bus, table, Id("bad"), "key-7", value);
        requests.Reset();

        var entry = Assert.Single((await store.ListAsync(new DeadLetterQuery { Owner = "key-7" }, None)).Items);

        Assert.Equal((id, "key-7"), (entry.MessageId, entry.Owner));
        Assert.Equal(1, requests.Count);
        Assert.Equal("key-7", (await store.GetAsync(entry.Id, None))?.Owner);
        Assert.Empty((await store.ListAsync(new DeadLetterQuery { Owner = value as string ?? "42" }, None)).Items);
    }

    [Fact]
    public async Task A_replay_of_a_dead_letter_without_the_owner_property_sends_the_next_attempt_with_the_records_owner()
    {
        var under = await ServiceBusDeadLetters.CreateAsync(Start);
        var dead = await DeadLetterStoreContract.DeadLetterAsync(under, Id("replayowner"), owner: "key-9");
        Assert.False(Assert.Single(under.Bus.DeadLetters).Message.ApplicationProperties.ContainsKey(DeliveryJobMessages.OwnerProperty));

        var result = await under.Store.ReplayAsync(await DeadLetterIdAsync(under, dead.MessageId), "replay", None);

        Assert.Equal(ReplayOutcome.Replayed, result.Outcome);
        Assert.Equal("key-9", Assert.Single(under.Bus.Waiting).ApplicationProperties[DeliveryJobMessages.OwnerProperty]);
    }
}
