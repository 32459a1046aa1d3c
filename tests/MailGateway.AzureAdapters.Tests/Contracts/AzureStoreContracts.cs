using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Submissions;
using MailGateway.Testing.AzureAdapters;
using MailGateway.Testing.Contracts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.AzureAdapters.Tests.Contracts;

/// <summary>The status-port contract on Table storage (Azurite; each test its own tables).</summary>
public sealed class TableMessageStatusStoreContract : MessageStatusStoreContract
{
    protected override async Task<IStatusStoreUnderTest> CreateAsync()
    {
        var time = new FakeTimeProvider(Start);
        return new Under(StorageFixtures.Table(await StorageFixtures.OptionsAsync(), time), time);
    }

    private sealed record Under(IMessageStatusStore Store, FakeTimeProvider Time) : IStatusStoreUnderTest
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>The operations contract (list, cancel) on Table storage (Azurite; each test its own tables).</summary>
public sealed class TableMessageOperationsContract : MessageOperationsContract
{
    protected override async Task<IOperationsUnderTest> CreateAsync()
    {
        var time = new FakeTimeProvider(Start);
        var store = StorageFixtures.Table(await StorageFixtures.OptionsAsync(), time);
        return new Under(store, store, time);
    }

    private sealed record Under(IMessageStatusStore Store, IMessageOperations Operations, FakeTimeProvider Time) : IOperationsUnderTest
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>The claim-check contract on Blob storage (Azurite; each test its own container).</summary>
public sealed class BlobMessageContentStoreContract : MessageContentStoreContract
{
    protected override async Task<IMessageContentStore> CreateAsync() =>
        StorageFixtures.Blob(await StorageFixtures.OptionsAsync(), StorageFixtures.Clock());
}

/// <summary>
/// The accept-port contract on the Azure composition: the claim check over Blob and Table storage (Azurite) and the
/// Service Bus queue (in-memory broker behind the SDK's seams).
/// </summary>
public sealed class AzureClaimCheckAcceptorContract : MessageAcceptorContract
{
    protected override async Task<IAcceptorUnderTest> CreateAsync()
    {
        var time = new FakeTimeProvider(Start);
        var options = await StorageFixtures.OptionsAsync();
        return new Under(StorageFixtures.Blob(options, time), StorageFixtures.Table(options, time), new InMemoryServiceBus(time), time);
    }

    private sealed class Under(IMessageContentStore content, IMessageStatusStore status, InMemoryServiceBus bus, FakeTimeProvider time) : IAcceptorUnderTest
    {
        public IMessageAcceptor Acceptor { get; } = new ClaimCheckMessageAcceptor(content, status, new ServiceBusDeliveryQueue(bus), NullLogger<ClaimCheckMessageAcceptor>.Instance);

        public IMessageStatusStore Status => status;

        public IMessageContentStore Content => content;

        public FakeTimeProvider Time => time;

        public async Task<IReadOnlyList<IDeliveryJobContext>> LeaseAllAsync(CancellationToken cancellationToken)
        {
            var leased = new List<IDeliveryJobContext>();
            while (await bus.LeaseAsync(cancellationToken) is { } lease)
            {
                leased.Add(lease);
            }

            return leased;
        }

        public Task BreakQueueAsync()
        {
            bus.FailWith = new ServiceBusException("down", ServiceBusFailureReason.ServiceCommunicationProblem);
            return Task.CompletedTask;
        }

        public Task RepairQueueAsync()
        {
            bus.FailWith = null;
            return Task.CompletedTask;
        }

        public Task LoseJobsAsync()
        {
            bus.Lose();
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
