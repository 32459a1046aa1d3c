using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;

namespace MailGateway.AzureAdapters.Tests;

public sealed class ServiceBusDeliveryQueueTests
{
    [Fact]
    public async Task First_enqueue_uses_the_gateway_id_as_MessageId_for_duplicate_detection()
    {
        var sender = new RecordingSender();
        var queue = new ServiceBusDeliveryQueue(sender);

        await queue.EnqueueAsync(Jobs.Job(), null, CancellationToken.None);

        var (message, tx) = Assert.Single(sender.Sent);
        Assert.Null(tx);
        Assert.Equal("01JABCDEF", message.MessageId);
        Assert.Equal("01JABCDEF", message.CorrelationId);
        Assert.Equal(DeliveryJobSerializer.ContentType, message.ContentType);
        Assert.Equal(default, message.ScheduledEnqueueTime);
        Assert.Equal("01JABCDEF", message.ApplicationProperties[DeliveryJobMessages.GatewayIdProperty]);
        Assert.Equal(1, message.ApplicationProperties[DeliveryJobMessages.AttemptProperty]);
        Assert.Equal(Jobs.Job().Recipients, DeliveryJobSerializer.Deserialize(message.Body.ToMemory().Span).Recipients);
    }

    [Fact]
    public async Task A_retried_enqueue_sends_the_same_MessageId_again()
    {
        var sender = new RecordingSender();
        var queue = new ServiceBusDeliveryQueue(sender);

        await queue.EnqueueAsync(Jobs.Job(), null, CancellationToken.None);
        await queue.EnqueueAsync(Jobs.Job(), null, CancellationToken.None);

        Assert.Equal(["01JABCDEF", "01JABCDEF"], sender.Sent.Select(s => s.Message.MessageId));
    }

    [Fact]
    public async Task A_send_at_time_becomes_the_scheduled_enqueue_time()
    {
        var sender = new RecordingSender();
        var at = Jobs.FirstSeen.AddHours(3);

        await new ServiceBusDeliveryQueue(sender).EnqueueAsync(Jobs.Job(), at, CancellationToken.None);

        Assert.Equal(at, Assert.Single(sender.Sent).Message.ScheduledEnqueueTime);
    }

    [Fact]
    public async Task Later_attempts_get_their_own_deterministic_MessageId()
    {
        var sender = new RecordingSender();

        await new ServiceBusDeliveryQueue(sender).EnqueueAsync(Jobs.Job(attempt: 4), Jobs.FirstSeen, CancellationToken.None);

        var message = Assert.Single(sender.Sent).Message;
        Assert.Equal("01JABCDEF#4", message.MessageId);
        Assert.Equal("01JABCDEF", message.CorrelationId);
    }

    [Fact]
    public async Task Readiness_is_the_senders()
    {
        var sender = new RecordingSender { Ready = false };
        Assert.False(await new ServiceBusDeliveryQueue(sender).IsReadyAsync(CancellationToken.None));
        sender.Ready = true;
        Assert.True(await new ServiceBusDeliveryQueue(sender).IsReadyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_trace_context_travels_as_the_W3C_application_properties_not_in_the_body()
    {
        var sender = new RecordingSender();
        var job = Jobs.Job() with { TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", TraceState = "congo=t61rcWkgMzE" };

        await new ServiceBusDeliveryQueue(sender).EnqueueAsync(job, null, CancellationToken.None);

        var message = Assert.Single(sender.Sent).Message;
        Assert.Equal(job.TraceParent, message.ApplicationProperties[DeliveryJobMessages.TraceParentProperty]);
        Assert.Equal(job.TraceState, message.ApplicationProperties[DeliveryJobMessages.TraceStateProperty]);
        Assert.DoesNotContain("0af7651916cd43dd8448eb211c80319c", message.Body.ToString(), StringComparison.Ordinal);
        var received = DeliveryJobMessages.Read(Jobs.Received(job));
        Assert.Equal((job.TraceParent, job.TraceState), (received.TraceParent, received.TraceState));
    }

    [Fact]
    public async Task A_job_without_a_trace_context_sends_no_trace_properties()
    {
        var sender = new RecordingSender();

        await new ServiceBusDeliveryQueue(sender).EnqueueAsync(Jobs.Job(), null, CancellationToken.None);

        var message = Assert.Single(sender.Sent).Message;
        Assert.False(message.ApplicationProperties.ContainsKey(DeliveryJobMessages.TraceParentProperty));
        Assert.False(message.ApplicationProperties.ContainsKey(DeliveryJobMessages.TraceStateProperty));
    }

    [Fact]
    public async Task The_first_job_of_a_submission_carries_its_owner_as_an_application_property_kept_by_a_reschedule()
    {
        var sender = new RecordingSender();
        var submission = new MailGateway.Core.Submissions.Submission
        {
            MessageId = "01JOWNER",
            Owner = "billing",
            Envelope = new MailGateway.Core.Messages.Envelope("app@example.com", ["b@example.net"]),
            Content = "Subject: x\r\n\r\nx\r\n"u8.ToArray(),
            AcceptedAt = Jobs.FirstSeen,
        };

        await new ServiceBusDeliveryQueue(sender).EnqueueAsync(submission.FirstJob("2026/11/28/a.eml"), null, CancellationToken.None);

        var message = Assert.Single(sender.Sent).Message;
        Assert.Equal("billing", message.ApplicationProperties[DeliveryJobMessages.OwnerProperty]);
        Assert.DoesNotContain("billing", message.Body.ToString(), StringComparison.Ordinal);
        var received = DeliveryJobMessages.Read(Jobs.Received(submission.FirstJob("2026/11/28/a.eml")));
        Assert.Equal("billing", received.Owner);
        var rescheduled = DeliveryJobMessages.Create(received with { Attempt = 2 }, Jobs.FirstSeen.AddMinutes(5));
        Assert.Equal("billing", rescheduled.ApplicationProperties[DeliveryJobMessages.OwnerProperty]);
    }

    [Fact]
    public async Task A_job_without_an_owner_sends_no_owner_property()
    {
        var sender = new RecordingSender();

        await new ServiceBusDeliveryQueue(sender).EnqueueAsync(Jobs.Job() with { Owner = "" }, null, CancellationToken.None);

        Assert.False(Assert.Single(sender.Sent).Message.ApplicationProperties.ContainsKey(DeliveryJobMessages.OwnerProperty));
        Assert.Null(DeliveryJobMessages.Read(Jobs.Received(Jobs.Job())).Owner);
    }
}
