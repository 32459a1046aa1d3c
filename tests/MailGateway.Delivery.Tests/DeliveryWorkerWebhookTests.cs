using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.Storage;
using MailGateway.AzureAdapters.Webhooks;
using MailGateway.Core.Delivery;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Webhooks;
using MailGateway.Testing;
using MailGateway.Testing.AzureAdapters;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MailGateway.Delivery.Tests;

/// <summary>
/// Webhooks on Azure: the delivery worker host as deployed (Service Bus replaced) dispatches the Table event feed to an
/// endpoint of the Table webhook store, signed — verified by a real Kestrel receiver with the independent
/// StandardWebhooks package — and one replica at a time holds the Blob dispatch lease.
/// </summary>
public sealed class DeliveryWorkerWebhookTests
{
    private static async Task<Dictionary<string, string?>> SettingsAsync(TestRelay relay)
    {
        var settings = await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls));
        settings["MailGateway:AzureStorage:EventFeedSettle"] = "00:00:01";
        settings["MailGateway:Webhooks:AllowLoopback"] = "true";
        settings["MailGateway:Webhooks:PollInterval"] = "00:00:00.050";
        settings["MailGateway:Webhooks:RetryScale"] = "0.001";
        return settings;
    }

    private static async Task<string> AcceptAndDeliverAsync(DeliveryHostHarness host)
    {
        var composer = new MessageComposer(Options.Create(new MessageLimitsOptions()), TimeProvider.System);
        var id = Guid.CreateVersion7().ToString("N");
        var composed = composer.Compose(new OutboundMessage
        {
            From = new EmailAddress("app@example.com"),
            To = [new EmailAddress("b@example.net")],
            Subject = "Webhook",
            Text = "Hello.\r\n",
        }, id);
        var now = DateTimeOffset.UtcNow;
        var reference = await host.Services.GetRequiredService<IMessageContentStore>().SaveAsync(id, composed.Bytes, CancellationToken.None);
        await host.Services.GetRequiredService<IMessageStatusStore>().CreateAsync(
            new MessageRecord { Id = id, Owner = "key-1", State = MessageState.Queued, CreatedAt = now, UpdatedAt = now }, null, CancellationToken.None);
        var args = new RecordingArgs(Jobs.Received(new DeliveryJob
        {
            MessageId = id,
            ContentReference = reference,
            MailFrom = composed.Envelope.MailFrom,
            Recipients = composed.Envelope.Recipients,
            FirstSeen = now,
        }));
        await host.Processor.DeliverAsync(args);
        Assert.Equal("complete", Assert.Single(args.Settlements).Action);
        return id;
    }

    private static async Task<(string Id, string Secret)> CreateEndpointAsync(DeliveryHostHarness host, WebhookReceiver receiver, string owner, params string[] types)
    {
        var secret = WebhookSignature.NewSecret();
        var definition = new WebhookDefinition(WebhookDefinition.NewId(), owner, new Uri(receiver.BaseAddress, "/hook").ToString(), types, true, secret, null, null, DateTimeOffset.UtcNow);
        Assert.Equal(WebhookCreateOutcome.Created, await host.Services.GetRequiredService<IWebhookRegistry>().CreateAsync(definition, 10, CancellationToken.None));
        return (definition.Id, secret);
    }

    [Fact]
    public async Task The_worker_sends_its_keys_feed_events_signed_in_feed_order_and_keeps_the_feed_cursor()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = await DeliveryHostHarness.StartAsync(await SettingsAsync(relay));
        var (hook, secret) = await CreateEndpointAsync(host, receiver, "key-1", "accepted", "delivered");
        var (otherHook, otherSecret) = await CreateEndpointAsync(host, receiver, "key-2");
        receiver.Trust(secret, otherSecret);

        var message = await AcceptAndDeliverAsync(host);
        await Poll.UntilAsync(() => receiver.Events().Count(e => e.MessageId == message) >= 3, () => $"received {receiver.Received.Count}, forged {receiver.Forged}");
        var states = host.Services.GetRequiredService<IWebhookStateStore>();
        var lastId = receiver.Received.Last().Id;
        await Poll.UntilAsync(async () => (await states.FindAsync(hook, CancellationToken.None))?.Cursor == lastId, () => $"cursor not yet at {lastId}");

        Assert.Equal([(message, "accepted", null), (message, "delivered", "b@example.net"), (message, "delivered", null)], receiver.Events());
        Assert.Equal(0, receiver.Forged);
        Assert.All(receiver.Received, r => Assert.True(TableFeedCursor(r.Id), r.Id));
        Assert.Equal(receiver.Received.Select(r => r.Id).Order(StringComparer.Ordinal), receiver.Received.Select(r => r.Id));
        Assert.All(receiver.Signatures, s => Assert.Equal([secret], s.VerifiedBy));
        var state = await states.FindAsync(hook, CancellationToken.None);
        Assert.Equal((0, false, 200), (state!.Failures, state.Disabled, state.LastStatus));
        // key-2's endpoint saw none of key-1's events (it still starts at its creation: no cursor moved).
        var other = await states.FindAsync(otherHook, CancellationToken.None);
        Assert.Null(other!.LastStatus);
    }

    private static bool TableFeedCursor(string id) =>
        id.StartsWith("evt_", StringComparison.Ordinal) && id.Length > "evt_0000000000000000".Length && id.Count(c => c == '_') >= 3;

    [Fact]
    public async Task One_replica_holds_the_dispatch_lease_and_renews_it_while_another_finds_it_taken()
    {
        var azurite = await AzuriteServer.GetAsync();
        var service = new BlobServiceClient(azurite.ConnectionString);
        var options = Options.Create(new AzureStorageOptions { ContentContainer = AzuriteServer.UniqueName("lease-") });
        using var first = new BlobWebhookDispatchLease(service, options, TimeProvider.System);
        using var second = new BlobWebhookDispatchLease(service, options, TimeProvider.System);

        // No container and no blob yet: the first creates both and takes the lease.
        Assert.True(await first.HoldAsync(CancellationToken.None));
        Assert.False(await second.HoldAsync(CancellationToken.None));
        Assert.True(await first.HoldAsync(CancellationToken.None));

        var properties = await service.GetBlobContainerClient(options.Value.ContentContainer).GetBlobClient(BlobWebhookDispatchLease.BlobName).GetPropertiesAsync();
        Assert.Equal(Azure.Storage.Blobs.Models.LeaseState.Leased, properties.Value.LeaseState);
        Assert.Equal(Azure.Storage.Blobs.Models.LeaseDurationType.Fixed, properties.Value.LeaseDuration);
    }
}
