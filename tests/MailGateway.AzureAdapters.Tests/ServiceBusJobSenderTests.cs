using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;

namespace MailGateway.AzureAdapters.Tests;

/// <summary>The thin wrapper over <see cref="ServiceBusSender"/>, through the SDK's mocking seam (protected constructor, virtual members).</summary>
public sealed class ServiceBusJobSenderTests
{
    [Fact]
    public async Task Sends_the_message_unchanged()
    {
        var sdk = new SdkSender();
        var message = DeliveryJobMessages.Create(Jobs.Job(), Jobs.FirstSeen.AddMinutes(1));

        await new ServiceBusJobSender(sdk).SendAsync(message, CancellationToken.None);

        Assert.Same(message, Assert.Single(sdk.Sent));
    }

    [Fact]
    public async Task Ready_when_a_send_link_opens_and_not_when_the_namespace_refuses()
    {
        var sdk = new SdkSender();
        Assert.True(await new ServiceBusJobSender(sdk).IsReadyAsync(CancellationToken.None));

        sdk.Refuse = new ServiceBusException("unreachable", ServiceBusFailureReason.ServiceCommunicationProblem);
        Assert.False(await new ServiceBusJobSender(sdk).IsReadyAsync(CancellationToken.None));

        sdk.Refuse = new UnauthorizedAccessException("no Send right");
        Assert.False(await new ServiceBusJobSender(sdk).IsReadyAsync(CancellationToken.None));
        Assert.Empty(sdk.Sent);
    }

    private sealed class SdkSender : ServiceBusSender
    {
        public List<ServiceBusMessage> Sent { get; } = [];

        public Exception? Refuse { get; set; }

        public override Task SendMessageAsync(ServiceBusMessage message, CancellationToken cancellationToken = default)
        {
            Sent.Add(message);
            return Task.CompletedTask;
        }

        public override ValueTask<ServiceBusMessageBatch> CreateMessageBatchAsync(CancellationToken cancellationToken = default) =>
            Refuse is not null
                ? ValueTask.FromException<ServiceBusMessageBatch>(Refuse)
                : ValueTask.FromResult(ServiceBusModelFactory.ServiceBusMessageBatch(256 * 1024, []));
    }
}
