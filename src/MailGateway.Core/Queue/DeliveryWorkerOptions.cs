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
    /// Jobs handled at once (per process or replica). Default 20. A job holds an SMTP connection only while it talks
    /// to the relay; its queue and status writes (each waiting for a durable commit) do not, so this can be higher than
    /// <c>Relay:MaxConnections</c> (default 20), which caps the connections open to the relay whatever this is. 64 jobs
    /// on 20 connections drain a backlog faster (warm drain / engine 0.54–0.62 against 0.41–0.45) but take CPU from
    /// the API while it accepts: 10–25 % fewer requests per second and a higher p99 in <c>standalone-api.sh</c>, and
    /// a few MB more peak RSS (bench/README.md, "Jobs apart from relay connections"). Each job holds its message in
    /// memory while it waits for a connection: up to this many × the largest stored message. The Azure delivery
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
