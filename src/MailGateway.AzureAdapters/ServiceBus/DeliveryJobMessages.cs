using System.Globalization;
using Azure.Messaging.ServiceBus;
using MailGateway.Core.Queue;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>Builds the Service Bus message that carries a job.</summary>
public static class DeliveryJobMessages
{
    /// <summary>Application property holding the gateway message id on every copy.</summary>
    public const string GatewayIdProperty = "mailgateway-id";

    /// <summary>Application property holding the attempt number.</summary>
    public const string AttemptProperty = "mailgateway-attempt";

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
        var message = new ServiceBusMessage(DeliveryJobSerializer.Serialize(job))
        {
            MessageId = ServiceBusMessageId(job),
            CorrelationId = job.MessageId,
            ContentType = DeliveryJobSerializer.ContentType,
            Subject = "delivery-job",
        };
        message.ApplicationProperties[GatewayIdProperty] = job.MessageId;
        message.ApplicationProperties[AttemptProperty] = job.Attempt;
        if (notBefore is { } at)
        {
            message.ScheduledEnqueueTime = at;
        }

        return message;
    }
}
