using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Testing.AzureAdapters;
using MailGateway.Core.Delivery;
using MailGateway.Core.Events;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Suppressions;
using MailGateway.Testing;
using Microsoft.Extensions.DependencyInjection;
using SmtpServer.Protocol;

namespace MailGateway.Delivery.Tests;

/// <summary>
/// The worker host as deployed, with only Service Bus replaced: a received job goes through the dispatcher, the real
/// DeliveryJobHandler and SMTP engine to a real relay, with Blob and Table storage on Azurite.
/// </summary>
public sealed class DeliveryWorkerEndToEndTests
{
    private static async Task<(DeliveryJob Job, RecordingArgs Args)> AcceptAsync(DeliveryHostHarness host, MessageState state = MessageState.Queued)
    {
        var composer = new MessageComposer(Microsoft.Extensions.Options.Options.Create(new MessageLimitsOptions()), TimeProvider.System);
        var id = Guid.CreateVersion7().ToString("N");
        var composed = composer.Compose(new OutboundMessage
        {
            From = new EmailAddress("app@example.com"),
            To = [new EmailAddress("b@example.net")],
            Subject = "Azure worker",
            Text = "Hello.\r\n",
        }, id);
        var now = DateTimeOffset.UtcNow;
        var reference = await host.Services.GetRequiredService<IMessageContentStore>().SaveAsync(id, composed.Bytes, CancellationToken.None);
        await host.Services.GetRequiredService<IMessageStatusStore>().CreateAsync(
            new MessageRecord { Id = id, Owner = "key-1", State = state, CreatedAt = now, UpdatedAt = now }, null, CancellationToken.None);
        var job = new DeliveryJob
        {
            MessageId = id,
            ContentReference = reference,
            MailFrom = composed.Envelope.MailFrom,
            Recipients = composed.Envelope.Recipients,
            FirstSeen = now,
        };
        return (job, new RecordingArgs(Jobs.Received(job)));
    }

    // The events the worker's status changes wrote into the Table event log (per recipient, then the message's).
    private static async Task<List<(string Type, string? Recipient, int? Attempt)>> EventsAsync(DeliveryHostHarness host, string id) =>
        [.. (await host.Services.GetRequiredService<IMessageEventStore>().ReadAsync(new MessageEventQuery("key-1", 0, 100, id), CancellationToken.None))
            .Select(e => (e.Type, e.Recipient, e.Attempt))];

    // The feed across messages (TableEventFeed), polled as an application does until it holds `count` events.
    private static async Task<List<(string Type, string? Recipient, int? Attempt)>> FeedAsync(DeliveryHostHarness host, int count)
    {
        var feed = await Poll.UntilAsync(
            () => host.Services.GetRequiredService<IMessageEventStore>().ReadAsync(new MessageEventQuery("key-1", 0, 100), CancellationToken.None),
            events => events.Count >= count,
            events => $"the feed holds {events.Count} of {count} events: {string.Join(", ", events.Select(e => e.Type))}");
        return [.. feed.Select(e => (e.Type, e.Recipient, e.Attempt))];
    }

    [Fact]
    public async Task Delivered_job_reaches_the_relay_is_recorded_and_completed()
    {
        await using var relay = await TestRelay.StartAsync();
        var settings = await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls));
        settings["MailGateway:AzureStorage:EventFeedSettle"] = "00:00:01";
        await using var host = await DeliveryHostHarness.StartAsync(settings);
        var (job, args) = await AcceptAsync(host);

        await host.Processor.DeliverAsync(args);

        Assert.Equal([new Settled("complete", null, null, null)], args.Settlements);
        Assert.Empty(host.Sender.Sent);
        var relayed = Assert.Single(relay.Messages);
        Assert.Equal(["b@example.net"], relayed.Recipients);
        var record = await host.Services.GetRequiredService<IMessageStatusStore>().GetAsync(job.MessageId, CancellationToken.None);
        Assert.Equal(MessageState.Delivered, record!.State);
        var attempt = Assert.Single(record.Attempts);
        Assert.Equal(DeliveryOutcomeKind.Delivered, attempt.Outcome);
        Assert.Equal(relay.Port(RelayEndpointKind.StartTls), attempt.Port);
        Assert.NotNull(attempt.TlsProtocol);
        Assert.Equal(
            [(MessageEventTypes.Accepted, null, null), (MessageEventTypes.Delivered, "b@example.net", 1), (MessageEventTypes.Delivered, null, 1)],
            await EventsAsync(host, job.MessageId));

        // The worker's changes reach the feed across messages too, once each, in the same order.
        Assert.Equal(await EventsAsync(host, job.MessageId), await FeedAsync(host, 3));
    }

    [Fact]
    public async Task Deferred_job_is_rescheduled_as_a_scheduled_copy_and_the_original_completed_in_one_transaction()
    {
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            DataReply = new SmtpResponse(SmtpReplyCode.MailboxUnavailable - 100, "4.3.0 Try again later"),
        });
        await using var host = await DeliveryHostHarness.StartAsync(await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls)));
        var (job, args) = await AcceptAsync(host);

        await host.Processor.DeliverAsync(args);

        var (copy, transaction) = Assert.Single(host.Sender.Sent);
        Assert.Equal(job.MessageId + "#2", copy.MessageId);
        var next = DeliveryJobSerializer.Deserialize(copy.Body.ToMemory().Span);
        Assert.Equal(2, next.Attempt);
        Assert.Equal(job.FirstSeen, next.FirstSeen);
        Assert.True(copy.ScheduledEnqueueTime > job.FirstSeen);
        var complete = Assert.Single(args.Settlements);
        Assert.Equal("complete", complete.Action);
        Assert.Equal(transaction, complete.TransactionId);
        var record = await host.Services.GetRequiredService<IMessageStatusStore>().GetAsync(job.MessageId, CancellationToken.None);
        Assert.Equal(MessageState.Deferred, record!.State);
        Assert.Equal(copy.ScheduledEnqueueTime, record.NextAttemptAt);
        Assert.Equal(
            [(MessageEventTypes.Accepted, null, null), (MessageEventTypes.Deferred, "b@example.net", 1), (MessageEventTypes.Deferred, null, 1)],
            await EventsAsync(host, job.MessageId));
    }

    [Fact]
    public async Task Failed_job_is_dead_lettered_with_the_relays_reply()
    {
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            DataReply = new SmtpResponse(SmtpReplyCode.TransactionFailed, "5.7.0 Content rejected"),
        });
        await using var host = await DeliveryHostHarness.StartAsync(await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls)));
        var (job, args) = await AcceptAsync(host);

        await host.Processor.DeliverAsync(args);

        var settled = Assert.Single(args.Settlements);
        Assert.Equal("dead-letter", settled.Action);
        Assert.Equal(DeadLetterReasons.Failed, settled.Reason);
        Assert.Contains("5.7.0 Content rejected", settled.Description, StringComparison.Ordinal);
        Assert.Empty(host.Sender.Sent);
        var record = await host.Services.GetRequiredService<IMessageStatusStore>().GetAsync(job.MessageId, CancellationToken.None);
        Assert.Equal(MessageState.Failed, record!.State);
        Assert.Equal(
            [(MessageEventTypes.Accepted, null, null), (MessageEventTypes.Failed, "b@example.net", 1), (MessageEventTypes.Failed, null, 1)],
            await EventsAsync(host, job.MessageId));
    }

    [Fact]
    public async Task An_address_on_the_table_suppression_list_is_not_sent_to_and_ends_suppressed()
    {
        var rcpts = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions { RcptReply = to => { rcpts.Enqueue(to); return null; } });
        await using var host = await DeliveryHostHarness.StartAsync(await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls)));
        var list = host.Services.GetRequiredService<ISuppressionList>();
        Assert.IsType<MailGateway.AzureAdapters.Suppressions.TableSuppressionList>(list);
        await list.AddAsync(new SuppressionEntry("key-1", "B@Example.net", SuppressionReasons.Manual, DateTimeOffset.UtcNow, null), CancellationToken.None);
        var (job, args) = await AcceptAsync(host);

        await host.Processor.DeliverAsync(args);

        Assert.Equal("complete", Assert.Single(args.Settlements).Action);
        Assert.Empty(rcpts);
        Assert.Empty(relay.Messages);
        var record = await host.Services.GetRequiredService<IMessageStatusStore>().GetAsync(job.MessageId, CancellationToken.None);
        Assert.Equal(MessageState.Suppressed, record!.State);
        Assert.Equal(RecipientState.Suppressed, Assert.Single(record.Recipients).State);
    }

    [Fact]
    public async Task With_a_bounce_domain_the_worker_sends_each_recipient_with_a_VERP_sender_the_listener_key_verifies()
    {
        // As deployed: the worker and the inbound listener get the same MailGateway:Bounces settings (one Key Vault
        // secret); the record is the API's, with its envelope, so the token names the recipient's index in it.
        const string Secret = "a-test-secret-of-at-least-32-characters";
        await using var relay = await TestRelay.StartAsync();
        var settings = await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls));
        settings["MailGateway:Bounces:Domain"] = "bounces.example.com";
        settings["MailGateway:Bounces:Secret"] = Secret;
        await using var host = await DeliveryHostHarness.StartAsync(settings);
        var (job, args) = await AcceptAsync(host);
        var status = host.Services.GetRequiredService<IMessageStatusStore>();
        await status.DeleteAsync(job.MessageId, CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        await status.CreateAsync(new MessageRecord
        {
            Id = job.MessageId, Owner = "key-1", State = MessageState.Queued, CreatedAt = now, UpdatedAt = now,
            ContentReference = job.ContentReference, Envelope = new Envelope(job.MailFrom, job.Recipients),
        }, null, CancellationToken.None);

        await host.Processor.DeliverAsync(args);

        var relayed = Assert.Single(relay.Messages);
        Assert.Matches("^bounces\\+[a-z2-7]{45}@bounces\\.example\\.com$", relayed.MailFrom);
        var listener = new MailGateway.Core.Bounces.BounceAddresses(Microsoft.Extensions.Options.Options.Create(
            new MailGateway.Core.Bounces.BounceOptions { Domain = "bounces.example.com", Secret = Secret }));
        Assert.Equal(MailGateway.Core.Bounces.BounceAddressKind.Valid, listener.TryRead(relayed.MailFrom, out var messageId, out var index));
        Assert.Equal((job.MessageId, 0), (messageId, index));
        Assert.Equal(MessageState.Delivered, (await status.GetAsync(job.MessageId, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task A_5_1_1_at_rcpt_puts_a_hard_bounce_entry_on_the_table_list()
    {
        var rcpts = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            RcptReply = to => { rcpts.Enqueue(to); return new SmtpResponse(SmtpReplyCode.MailboxUnavailable, "5.1.1 No such user"); },
        });
        await using var host = await DeliveryHostHarness.StartAsync(await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls)));
        var (job, args) = await AcceptAsync(host);

        await host.Processor.DeliverAsync(args);

        Assert.Contains("b@example.net", rcpts);
        var list = host.Services.GetRequiredService<ISuppressionList>();
        var entry = Assert.Single(await list.ListAsync(new SuppressionQuery("key-1", DateTimeOffset.UtcNow, null, 10), CancellationToken.None));
        Assert.Equal(("b@example.net", SuppressionReasons.HardBounce, job.MessageId), (entry.Address, entry.Reason, entry.MessageId));
        Assert.Contains("5.1.1", entry.Detail, StringComparison.Ordinal);
        Assert.Equal(["b@example.net"], await list.FindAsync("key-1", ["b@example.net"], DateTimeOffset.UtcNow, CancellationToken.None));
    }

    [Fact]
    public async Task A_redelivered_job_of_a_delivered_message_completes_without_sending()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await DeliveryHostHarness.StartAsync(await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls)));
        var (job, args) = await AcceptAsync(host, MessageState.Delivered);

        await host.Processor.DeliverAsync(args);

        Assert.Equal([new Settled("complete", null, null, null)], args.Settlements);
        Assert.Empty(relay.Messages);
        Assert.Equal([(MessageEventTypes.Accepted, (string?)null, (int?)null)], await EventsAsync(host, job.MessageId));
    }

    [Fact]
    public async Task A_malformed_message_is_dead_lettered_by_the_host()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await DeliveryHostHarness.StartAsync(await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls)));
        var args = new RecordingArgs(Jobs.Received(BinaryData.FromString("{\"hello\":1}"), "foreign-1"));

        await host.Processor.DeliverAsync(args);

        Assert.Equal(DeadLetterReasons.MalformedJob, Assert.Single(args.Settlements).Reason);
        Assert.Empty(relay.Messages);
    }
}
