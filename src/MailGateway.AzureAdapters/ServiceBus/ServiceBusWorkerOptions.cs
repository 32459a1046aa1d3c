using System.ComponentModel.DataAnnotations;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>
/// What only the Service Bus processor needs, in the worker's section <c>MailGateway:DeliveryWorker</c> (with the knobs
/// every worker shares, <see cref="Core.Queue.DeliveryWorkerOptions"/>: its <c>Concurrency</c> is the processor's
/// MaxConcurrentCalls).
/// </summary>
public sealed class ServiceBusWorkerOptions : IValidatableObject
{
    /// <summary>The configuration section (the worker's).</summary>
    public const string SectionName = Core.Queue.DeliveryWorkerOptions.SectionName;

    /// <summary>
    /// How long the processor keeps renewing a job's lock while it is being delivered: above the worst SMTP time
    /// (connection retries over three ports, a slow DATA), never below 15 minutes.
    /// </summary>
    public TimeSpan MaxAutoLockRenewalDuration { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Messages fetched ahead of processing (0: none; prefetched locks expire while they wait).</summary>
    [Range(0, 1000)]
    public int PrefetchCount { get; set; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxAutoLockRenewalDuration < TimeSpan.FromMinutes(15))
        {
            yield return new ValidationResult(
                "MailGateway:DeliveryWorker:MaxAutoLockRenewalDuration must be at least 00:15:00 (above the worst SMTP delivery time).",
                [nameof(MaxAutoLockRenewalDuration)]);
        }
    }
}
