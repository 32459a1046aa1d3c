using System.Text;
using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.AzureAdapters.Status;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Testing.AzureAdapters;
using MailGateway.Testing.Contracts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.AzureAdapters.Tests.Contracts;

/// <summary>
/// The dead-letter contract on the Service Bus dead-letter sub-queue (in-memory broker behind the adapter's seam), with
/// the Table status store and the Blob content store on Azurite (each test its own table and container).
/// </summary>
public sealed class ServiceBusDeadLetterStoreContract : DeadLetterStoreContract
{
    protected override async Task<IDeadLetterStoreUnderTest> CreateAsync() => await ServiceBusDeadLetters.CreateAsync(Start);
}

/// <summary>The Service Bus dead-letter store and everything around it, for the contract and the Service Bus-only tests.</summary>
public sealed class ServiceBusDeadLetters : IDeadLetterStoreUnderTest
{
    private ServiceBusDeadLetters(InMemoryServiceBus bus, TableMessageStatusStore status, IMessageContentStore content, FakeTimeProvider time, int scanLimit)
    {
        Bus = bus;
        Table = status;
        Content = content;
        Time = time;
        Queue = new ServiceBusDeliveryQueue(bus);
        Store = new ServiceBusDeadLetterStore(bus.DeadLetterQueue, status, content,
            Options.Create(new ServiceBusQueueOptions { ConnectionString = "unused", DeadLetterScanLimit = scanLimit }), time,
            NullLogger<ServiceBusDeadLetterStore>.Instance);
    }

    public static async Task<ServiceBusDeadLetters> CreateAsync(DateTimeOffset start, int scanLimit = 5_000)
    {
        var time = new FakeTimeProvider(start);
        var options = await StorageFixtures.OptionsAsync();
        return new ServiceBusDeadLetters(new InMemoryServiceBus(time), StorageFixtures.Table(options, time), StorageFixtures.Blob(options, time), time, scanLimit);
    }

    public InMemoryServiceBus Bus { get; }

    public TableMessageStatusStore Table { get; }

    public ServiceBusDeadLetterStore Store { get; }

    IDeadLetterStore IDeadLetterStoreUnderTest.Store => Store;

    public IMessageStatusStore Status => Table;

    public IMessageContentStore Content { get; }

    public IDeliveryQueue Queue { get; }

    public FakeTimeProvider Time { get; }

    public Task<IDeliveryJobContext?> LeaseAsync(CancellationToken cancellationToken) => Bus.LeaseAsync(cancellationToken);

    public Task EnqueueRawAsync(string messageId, string body, CancellationToken cancellationToken) =>
        Bus.SendAsync(new ServiceBusMessage(Encoding.UTF8.GetBytes(body)) { MessageId = messageId, ContentType = DeliveryJobSerializer.ContentType }, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
