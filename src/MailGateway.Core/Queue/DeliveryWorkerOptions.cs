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
    /// Jobs handled at once (per process or replica). Default 64. A job holds an SMTP connection only while it talks
    /// to the relay; its queue and status writes (each waiting for a durable commit) do not, so the standalone worker
    /// runs more jobs than connections: <c>Relay:MaxConnections</c> (default 20) caps the connections open to the relay
    /// whatever this is. With 64 jobs over 20 connections the warm drain of 5,000 queued messages reached 0.54 × the
    /// engine alone on 20 connections, against 0.41–0.45 with 20 jobs (bench/README.md, "Delivery"). Each job holds its message in memory while it waits
    /// for a connection: up to this many × the largest stored message (<c>Messages:MaxMessageBytes</c>). The Azure
    /// delivery worker's <c>appsettings.json</c> and Bicep set 8 per replica (KEDA's messages-per-replica target).
    /// </summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 64;

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
