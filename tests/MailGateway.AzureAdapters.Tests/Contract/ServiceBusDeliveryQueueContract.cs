using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.AzureAdapters.Tests.Contract;

/// <summary>The queue-port contract on the Service Bus adapter (sender, job messages, settlement) over an in-memory broker.</summary>
public sealed class ServiceBusDeliveryQueueContract : DeliveryQueueContract
{
    protected override Task<IQueueUnderTest> CreateAsync() => Task.FromResult<IQueueUnderTest>(new Bus());

    private sealed class Bus : IQueueUnderTest
    {
        private readonly InMemoryServiceBus _bus;

        public Bus()
        {
            _bus = new InMemoryServiceBus(Time);
            Queue = new ServiceBusDeliveryQueue(_bus);
        }

        public FakeTimeProvider Time { get; } = new(Start);

        public IDeliveryQueue Queue { get; }

        public Task<IDeliveryJobContext?> LeaseAsync(CancellationToken cancellationToken) => Task.FromResult(_bus.Lease());

        public Task<IReadOnlyList<(DeliveryJob Job, string Reason, string Description)>> DeadLettersAsync(CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<(DeliveryJob, string, string)>>(
                [.. _bus.DeadLetters.Select(d => (DeliveryJobSerializer.Deserialize(d.Message.Body), d.Reason, d.Description))]);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
