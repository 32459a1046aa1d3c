using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace MailGateway.Core.Queue;

/// <summary>
/// The delivery worker, whichever queue it reads (configuration section <c>MailGateway:DeliveryWorker</c>): the
/// SQLite pump of the standalone host and the Service Bus processor of the delivery host read the same names. Each
/// queue adds its own knobs to the same section (the SQLite lease, the Service Bus lock renewal).
/// </summary>
public sealed class DeliveryWorkerOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:DeliveryWorker";

    /// <summary>Whether the worker runs in this process. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Deliveries at once (per process or replica), and so SMTP connections open to the relay. Default 20 (the
    /// standalone drain measured 40 % faster than at 8 with a quarter less CPU per message, bench/README.md; the
    /// relay pool keeps 20 idle connections by default, <c>Relay:MaxIdleConnections</c>). The Azure delivery
    /// worker's <c>appsettings.json</c> and Bicep set 8 per replica (KEDA's messages-per-replica target).
    /// </summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 20;

    /// <summary>
    /// A job handed out more often than this without a settlement (the worker crashed or lost it while handling it)
    /// is dead-lettered (<see cref="DeadLetterReasons.TooManyDeliveries"/>) and its message marked failed. Default 10.
    /// </summary>
    [Range(1, 1000)]
    public int MaxDeliveryCount { get; set; } = 10;

    /// <summary>
    /// How long a stopping host lets in-flight deliveries finish before it cancels them (they are then left unsettled
    /// and handed out again later): the host's shutdown timeout. Default 30 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <see cref="DrainTimeout"/> as configured, read without validating the section: a host's shutdown timeout is
    /// read while the host is built, before start-up validation can report a bad setting by name (a value that is
    /// not a valid duration gives the default here and is reported by that validation).
    /// </summary>
    public static TimeSpan ReadDrainTimeout(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return TimeSpan.TryParse(configuration[$"{SectionName}:{nameof(DrainTimeout)}"], CultureInfo.InvariantCulture, out var value)
            ? value
            : new DeliveryWorkerOptions().DrainTimeout;
    }
}
