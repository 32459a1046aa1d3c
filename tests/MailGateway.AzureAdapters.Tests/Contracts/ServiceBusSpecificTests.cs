using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Testing.AzureAdapters;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.AzureAdapters.Tests.Contracts;

/// <summary>Service Bus behaviour beyond the shared contract, on the in-memory broker.</summary>
public sealed class ServiceBusSpecificTests
{
    [Fact]
    public async Task A_retried_reschedule_of_the_same_attempt_is_dropped_by_duplicate_detection()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
        var bus = new InMemoryServiceBus(time);
        var queue = new ServiceBusDeliveryQueue(bus);
        await queue.EnqueueAsync(Jobs.Job(attempt: 2), time.GetUtcNow(), CancellationToken.None);
        await queue.EnqueueAsync(Jobs.Job(attempt: 2), time.GetUtcNow(), CancellationToken.None);
        await queue.EnqueueAsync(Jobs.Job(attempt: 3), time.GetUtcNow(), CancellationToken.None);

        var attempts = new List<int>();
        while (await bus.LeaseAsync(CancellationToken.None) is { } lease)
        {
            attempts.Add(lease.Job.Attempt);
        }

        Assert.Equal([2, 3], attempts);
    }

    [Fact]
    public async Task A_redelivery_counts_deliveries_and_keeps_the_job()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
        var bus = new InMemoryServiceBus(time);
        await new ServiceBusDeliveryQueue(bus).EnqueueAsync(Jobs.Job(), null, CancellationToken.None);

        var lease = (await bus.LeaseAsync(CancellationToken.None))!;
        await lease.RescheduleAsync(lease.Job with { Attempt = 2 }, time.GetUtcNow(), CancellationToken.None);
        var next = (await bus.LeaseAsync(CancellationToken.None))!;

        Assert.Equal(1, next.DeliveryCount); // a scheduled copy is a new message, not a redelivery
        Assert.Equal(2, next.Job.Attempt);
    }
}
