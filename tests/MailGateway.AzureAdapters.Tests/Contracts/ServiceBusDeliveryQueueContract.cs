using System.Text;
using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;
using MailGateway.Testing.AzureAdapters;
using MailGateway.Testing.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.AzureAdapters.Tests.Contracts;

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

        public Task<IDeliveryJobContext?> LeaseAsync(CancellationToken cancellationToken) => _bus.LeaseAsync(cancellationToken);

        public async Task<IReadOnlyList<IDeliveryJobContext>> LeaseAllAsync(CancellationToken cancellationToken)
        {
            var leased = new List<IDeliveryJobContext>();
            while (await _bus.LeaseAsync(cancellationToken) is { } lease)
            {
                leased.Add(lease);
            }

            return leased;
        }

        public Task EnqueueRawAsync(string messageId, string body, CancellationToken cancellationToken) =>
            _bus.SendAsync(new ServiceBusMessage(Encoding.UTF8.GetBytes(body)) { MessageId = messageId, ContentType = DeliveryJobSerializer.ContentType }, cancellationToken);

        public Task<IReadOnlyList<DeadLetteredJob>> DeadLettersAsync(CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<DeadLetteredJob>>(
                [.. _bus.DeadLetters.Select(d => new DeadLetteredJob(d.Message.MessageId, TryRead(d.Message), d.Reason, d.Description))]);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private static DeliveryJob? TryRead(ServiceBusReceivedMessage message)
        {
            try
            {
                return DeliveryJobMessages.Read(message);
            }
            catch (MalformedDeliveryJobException)
            {
                return null;
            }
        }
    }
}
