using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>What Service Bus says about the delivery queue now.</summary>
/// <param name="Active">Messages that can be received now, locked (being delivered) or not: Service Bus does not count locked ones apart.</param>
/// <param name="Scheduled">Messages scheduled for later (the gateway's next attempts and <c>sendAt</c> jobs).</param>
/// <param name="DeadLetters">Messages in the dead-letter sub-queue.</param>
/// <param name="Total">Every message of the queue, its sub-queues included (Service Bus's <c>TotalMessageCount</c>).</param>
/// <param name="OldestActiveEnqueuedAt">The earliest enqueued time of the active messages the peek saw; null when it saw none.</param>
/// <param name="ScheduledDueAt">When each scheduled message the peek saw is due.</param>
/// <param name="Peeked">How many messages the peek saw.</param>
/// <param name="Truncated">The peek stopped at its limit: the queue may hold more than it saw.</param>
public sealed record ServiceBusQueueMetricsSnapshot(
    long Active, long Scheduled, long DeadLetters, long Total,
    DateTimeOffset? OldestActiveEnqueuedAt, IReadOnlyList<DateTimeOffset> ScheduledDueAt, int Peeked, bool Truncated);

/// <summary>
/// The delivery queue's numbers, a seam so that tests drive the dashboard's queue page without a namespace: the counts
/// from <see cref="ServiceBusAdministrationClient.GetQueueRuntimePropertiesAsync"/>, which Service Bus answers only with
/// the Manage right (with Entra ID, the Azure Service Bus Data Owner role), and a bounded peek of the queue from its
/// head (the Listen right) for the due times and the oldest message.
/// </summary>
public interface IServiceBusQueueMetrics
{
    /// <summary>The counts now, and what a peek of at most <paramref name="maxPeek"/> messages from the head found.</summary>
    /// <exception cref="UnauthorizedAccessException">The identity may not read the counts (no Manage claim) or peek (no Listen claim).</exception>
    /// <exception cref="ServiceBusException">The queue is not found, the service is busy or did not answer in time, or another failure.</exception>
    Task<ServiceBusQueueMetricsSnapshot> ReadAsync(int maxPeek, CancellationToken cancellationToken);
}

/// <summary>
/// The real counts and peek: the namespace's <see cref="ServiceBusAdministrationClient"/> (same namespace, credential
/// or connection string as the queue's clients) and a receiver on the queue used only to peek (no lock taken).
/// </summary>
internal sealed class ServiceBusQueueMetrics(ServiceBusAdministrationClient administration, ServiceBusReceiver receiver, string queueName)
    : IServiceBusQueueMetrics, IAsyncDisposable
{
    private const int PeekBatch = 250;

    public async Task<ServiceBusQueueMetricsSnapshot> ReadAsync(int maxPeek, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPeek, 1);
        QueueRuntimeProperties counts = await administration.GetQueueRuntimePropertiesAsync(queueName, cancellationToken);
        DateTimeOffset? oldest = null;
        var due = new List<DateTimeOffset>();
        var peeked = 0;
        // Always from an explicit number: without one the receiver continues from its own last peek (and the receiver
        // is shared by every page view).
        long from = 0;
        while (peeked < maxPeek)
        {
            var batch = await receiver.PeekMessagesAsync(Math.Min(PeekBatch, maxPeek - peeked), from, cancellationToken);
            if (batch.Count == 0)
            {
                break;
            }

            foreach (var message in batch)
            {
                peeked++;
                from = message.SequenceNumber + 1;
                switch (message.State)
                {
                    case ServiceBusMessageState.Scheduled:
                        due.Add(message.ScheduledEnqueueTime);
                        break;
                    case ServiceBusMessageState.Active when oldest is not { } known || message.EnqueuedTime < known:
                        oldest = message.EnqueuedTime;
                        break;
                }
            }
        }

        // The counts and the peek are two reads, not one snapshot: "more than it saw" is judged by the counts.
        var truncated = peeked >= maxPeek && counts.ActiveMessageCount + counts.ScheduledMessageCount > peeked;
        return new ServiceBusQueueMetricsSnapshot(
            counts.ActiveMessageCount, counts.ScheduledMessageCount, counts.DeadLetterMessageCount, counts.TotalMessageCount,
            oldest, due, peeked, truncated);
    }

    public ValueTask DisposeAsync() => receiver.DisposeAsync();
}
