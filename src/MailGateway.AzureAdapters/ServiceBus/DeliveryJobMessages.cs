using System.Globalization;
using Azure.Messaging.ServiceBus;
using MailGateway.Core.Queue;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>
/// The Service Bus message that carries a job: the body in the one job format (<see cref="DeliveryJobSerializer"/>),
/// the trace context as the W3C <c>traceparent</c> and <c>tracestate</c> application properties, the owner (API key id)
/// as <see cref="OwnerProperty"/>.
/// </summary>
public static class DeliveryJobMessages
{
    /// <summary>Application property holding the gateway message id on every copy.</summary>
    public const string GatewayIdProperty = "mailgateway-id";

    /// <summary>Application property holding the attempt number.</summary>
    public const string AttemptProperty = "mailgateway-attempt";

    /// <summary>Application property the worker sets when it dead-letters a job: when (Unix milliseconds).</summary>
    public const string DeadLetteredAtProperty = "mailgateway-dead-lettered-at";

    /// <summary>
    /// Application property the worker sets when it dead-letters a job: the queue's delivery count then (a receive
    /// from the dead-letter sub-queue counts as a delivery too).
    /// </summary>
    public const string DeliveryCountProperty = "mailgateway-delivery-count";

    /// <summary>
    /// Application property holding the id of the API key that submitted the message (<see cref="DeliveryJob.Owner"/>),
    /// so the dead-letter store filters by key without a Table read per dead letter. Absent on jobs of earlier versions.
    /// </summary>
    public const string OwnerProperty = "mailgateway-owner";

    /// <summary>The longest owner read from <see cref="OwnerProperty"/>; a longer value is ignored (the Table record decides).</summary>
    public const int MaxOwnerLength = 256;

    /// <summary>Application property holding the W3C traceparent of the accepting request.</summary>
    public const string TraceParentProperty = "traceparent";

    /// <summary>Application property holding the W3C tracestate of the accepting request.</summary>
    public const string TraceStateProperty = "tracestate";

    /// <summary>
    /// The Service Bus <c>MessageId</c> of a job: the gateway id for the first attempt (so duplicate detection catches a
    /// retried enqueue from the API), and a distinct, deterministic id for every rescheduled copy (a copy must not be
    /// dropped as a duplicate of the original; a retried reschedule of the same attempt still is).
    /// </summary>
    public static string ServiceBusMessageId(DeliveryJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.Attempt <= 1
            ? job.MessageId
            : job.MessageId + "#" + job.Attempt.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The message for <paramref name="job"/>, visible from <paramref name="notBefore"/> when given.</summary>
    public static ServiceBusMessage Create(DeliveryJob job, DateTimeOffset? notBefore)
    {
        ArgumentNullException.ThrowIfNull(job);
        var message = new ServiceBusMessage(BinaryData.FromBytes(DeliveryJobSerializer.SerializeToUtf8Bytes(job)))
        {
            MessageId = ServiceBusMessageId(job),
            CorrelationId = job.MessageId,
            ContentType = DeliveryJobSerializer.ContentType,
            Subject = "delivery-job",
        };
        message.ApplicationProperties[GatewayIdProperty] = job.MessageId;
        message.ApplicationProperties[AttemptProperty] = job.Attempt;
        if (IsOwner(job.Owner))
        {
            message.ApplicationProperties[OwnerProperty] = job.Owner;
        }

        if (job.TraceParent is { } traceParent)
        {
            message.ApplicationProperties[TraceParentProperty] = traceParent;
            if (job.TraceState is { } traceState)
            {
                message.ApplicationProperties[TraceStateProperty] = traceState;
            }
        }

        if (notBefore is { } at)
        {
            message.ScheduledEnqueueTime = at;
        }

        return message;
    }

    /// <summary>The properties the worker stamps on a message it dead-letters (<see cref="DeadLetteredAtProperty"/>, <see cref="DeliveryCountProperty"/>).</summary>
    public static Dictionary<string, object> DeadLetterProperties(DateTimeOffset at, int deliveryCount) => new()
    {
        [DeadLetteredAtProperty] = at.ToUnixTimeMilliseconds(),
        [DeliveryCountProperty] = deliveryCount,
    };

    /// <summary>The job a received message carries; throws <see cref="MalformedDeliveryJobException"/> when it is not one.</summary>
    public static DeliveryJob Read(ServiceBusReceivedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var job = DeliveryJobSerializer.Deserialize(message.Body.ToMemory().Span);
        return job with
        {
            TraceParent = message.ApplicationProperties.TryGetValue(TraceParentProperty, out var parent) ? parent as string : null,
            TraceState = message.ApplicationProperties.TryGetValue(TraceStateProperty, out var state) ? state as string : null,
            Owner = OwnerOf(message.ApplicationProperties),
        };
    }

    /// <summary>
    /// The owner a message carries in <see cref="OwnerProperty"/>; null when it has none or the value is not one an
    /// owner can be (not a string, empty, longer than <see cref="MaxOwnerLength"/>, control characters), so the caller
    /// reads the owner from the status record instead.
    /// </summary>
    /// <remarks>
    /// Trusted as the owner when present: only our own code puts messages on the queue (the API's accept path, the
    /// worker's reschedule, the dead-letter replay — identities with Data Sender on the queue), and it sets the value
    /// from the authenticated key's id or the status record, never from anything a caller sends. Whoever else could
    /// send to the queue could equally write any job body, so trusting the property grants nothing more.
    /// </remarks>
    public static string? OwnerOf(IReadOnlyDictionary<string, object> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        return properties.TryGetValue(OwnerProperty, out var value) && value is string owner && IsOwner(owner) ? owner : null;
    }

    private static bool IsOwner([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? owner) =>
        owner is { Length: > 0 and <= MaxOwnerLength } && !owner.Any(char.IsControl);
}
