using Azure;
using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;
using MailGateway.AzureAdapters.ServiceBus;

namespace MailGateway.AzureAdapters.Tests;

/// <summary>
/// The queue's numbers over the SDK's mocking seams: a <see cref="ServiceBusAdministrationClient"/> and a
/// <see cref="ServiceBusReceiver"/> built with their protected constructors, answering with
/// <see cref="ServiceBusModelFactory"/> values.
/// </summary>
public sealed class ServiceBusQueueMetricsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Maps_the_runtime_counts_and_takes_the_due_times_and_the_oldest_active_message_from_the_peek()
    {
        var administration = new SdkAdministration(ServiceBusModelFactory.QueueRuntimeProperties(
            name: "outbound", activeMessageCount: 7, scheduledMessageCount: 3, deadLetterMessageCount: 2, transferDeadLetterMessageCount: 1,
            transferMessageCount: 4, totalMessageCount: 17, sizeInBytes: 4096, createdAt: Now.AddDays(-9), updatedAt: Now.AddDays(-1), accessedAt: Now));
        var receiver = new SdkReceiver(
        [
            Message(1, ServiceBusMessageState.Active, enqueued: Now.AddMinutes(-5)),
            Message(2, ServiceBusMessageState.Scheduled, enqueued: Now.AddHours(-3), scheduled: Now.AddMinutes(10)),
            Message(3, ServiceBusMessageState.Active, enqueued: Now.AddMinutes(-40)),
            Message(4, ServiceBusMessageState.Deferred, enqueued: Now.AddHours(-5)),
            Message(5, ServiceBusMessageState.Scheduled, enqueued: Now.AddMinutes(-1), scheduled: Now.AddHours(2)),
            Message(6, ServiceBusMessageState.Active, enqueued: Now.AddMinutes(-2)),
        ]);
        await using var metrics = new ServiceBusQueueMetrics(administration, receiver, "outbound");

        var snapshot = await metrics.ReadAsync(1000, CancellationToken.None);

        Assert.Equal(["outbound"], administration.Asked);
        Assert.Equal((7L, 3L, 2L, 17L), (snapshot.Active, snapshot.Scheduled, snapshot.DeadLetters, snapshot.Total));
        // Active messages only: a scheduled or deferred message enqueued earlier is not the oldest job.
        Assert.Equal(Now.AddMinutes(-40), snapshot.OldestActiveEnqueuedAt);
        Assert.Equal([Now.AddMinutes(10), Now.AddHours(2)], snapshot.ScheduledDueAt);
        Assert.Equal(6, snapshot.Peeked);
        Assert.False(snapshot.Truncated);
    }

    [Fact]
    public async Task Peeks_at_most_the_limit_in_batches_each_from_an_explicit_sequence_number()
    {
        var messages = Enumerable.Range(1, 600).Select(i => Message(i, ServiceBusMessageState.Scheduled, Now, Now.AddMinutes(i))).ToList();
        var receiver = new SdkReceiver(messages);
        await using var metrics = new ServiceBusQueueMetrics(new SdkAdministration(Counts(active: 0, scheduled: 600)), receiver, "outbound");

        var snapshot = await metrics.ReadAsync(520, CancellationToken.None);

        Assert.Equal([(250, 0L), (250, 251L), (20, 501L)], receiver.Peeks);
        Assert.Equal(520, snapshot.Peeked);
        Assert.Equal(520, snapshot.ScheduledDueAt.Count);
        Assert.Equal(Now.AddMinutes(520), snapshot.ScheduledDueAt[^1]);
        Assert.True(snapshot.Truncated);
        Assert.Null(snapshot.OldestActiveEnqueuedAt);
    }

    [Fact]
    public async Task A_peek_that_reaches_the_limit_is_not_truncated_when_the_counts_say_it_saw_everything()
    {
        var receiver = new SdkReceiver([.. Enumerable.Range(1, 10).Select(i => Message(i, ServiceBusMessageState.Active, Now.AddSeconds(-i)))]);
        await using var metrics = new ServiceBusQueueMetrics(new SdkAdministration(Counts(active: 10, scheduled: 0)), receiver, "outbound");

        var snapshot = await metrics.ReadAsync(10, CancellationToken.None);

        Assert.Equal((10, false), (snapshot.Peeked, snapshot.Truncated));
        Assert.Equal(Now.AddSeconds(-10), snapshot.OldestActiveEnqueuedAt);
        Assert.Empty(snapshot.ScheduledDueAt);
    }

    [Fact]
    public async Task An_identity_without_Manage_gets_the_SDKs_UnauthorizedAccessException_and_nothing_is_peeked()
    {
        var refusal = new UnauthorizedAccessException("Unauthorized access. 'Manage' claim(s) are required to perform this operation.");
        var receiver = new SdkReceiver([Message(1, ServiceBusMessageState.Active, Now)]);
        await using var metrics = new ServiceBusQueueMetrics(new SdkAdministration(Counts(1, 0)) { Refuse = refusal }, receiver, "outbound");

        var thrown = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => metrics.ReadAsync(1000, CancellationToken.None));

        Assert.Same(refusal, thrown);
        Assert.Empty(receiver.Peeks);
    }

    private static QueueRuntimeProperties Counts(long active, long scheduled) =>
        ServiceBusModelFactory.QueueRuntimeProperties("outbound", active, scheduled, 0, 0, 0, active + scheduled, 0, Now, Now, Now);

    private static ServiceBusReceivedMessage Message(long sequence, ServiceBusMessageState state, DateTimeOffset enqueued, DateTimeOffset scheduled = default) =>
        ServiceBusModelFactory.ServiceBusReceivedMessage(
            body: BinaryData.FromString("{}"),
            messageId: "m" + sequence,
            sequenceNumber: sequence,
            enqueuedTime: enqueued,
            scheduledEnqueueTime: scheduled,
            serviceBusMessageState: state);

    private sealed class SdkAdministration(QueueRuntimeProperties properties) : ServiceBusAdministrationClient
    {
        public List<string> Asked { get; } = [];

        public Exception? Refuse { get; init; }

        public override Task<Response<QueueRuntimeProperties>> GetQueueRuntimePropertiesAsync(string name, CancellationToken cancellationToken = default)
        {
            Asked.Add(name);
            return Refuse is not null
                ? Task.FromException<Response<QueueRuntimeProperties>>(Refuse)
                : Task.FromResult(Response.FromValue(properties, new FakeResponse(200)));
        }
    }

    /// <summary>Peeks as Service Bus does: from the given sequence number on, in order, up to the count asked for.</summary>
    private sealed class SdkReceiver(IReadOnlyList<ServiceBusReceivedMessage> messages) : ServiceBusReceiver
    {
        public List<(int Max, long From)> Peeks { get; } = [];

        public override Task<IReadOnlyList<ServiceBusReceivedMessage>> PeekMessagesAsync(int maxMessages, long? fromSequenceNumber = null, CancellationToken cancellationToken = default)
        {
            Assert.NotNull(fromSequenceNumber); // a receiver's own position is shared by every caller
            Peeks.Add((maxMessages, fromSequenceNumber.Value));
            return Task.FromResult<IReadOnlyList<ServiceBusReceivedMessage>>(
                [.. messages.Where(m => m.SequenceNumber >= fromSequenceNumber).Take(maxMessages)]);
        }

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
