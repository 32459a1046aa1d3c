using System.ComponentModel.DataAnnotations;

namespace MailGateway.Delivery;

/// <summary>Graceful shutdown of the worker (section <c>MailGateway:DeliveryWorker</c>).</summary>
public sealed class DeliveryDrainOptions
{
    /// <summary>The configuration section (shared with the processor settings).</summary>
    public const string SectionName = "MailGateway:DeliveryWorker";

    /// <summary>
    /// How long a stopping worker lets in-flight deliveries finish before it cancels them (they are then left
    /// unsettled and redelivered). Keep it within the Container Apps termination grace period.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "MailGateway:DeliveryWorker:DrainTimeout must be between 00:00:01 and 01:00:00.")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
