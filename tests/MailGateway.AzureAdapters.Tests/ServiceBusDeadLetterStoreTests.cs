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
}
