using System.ComponentModel.DataAnnotations;

namespace MailGateway.Embedded;

/// <summary>The in-process delivery worker of the standalone host (configuration section <c>MailGateway:Worker</c>).</summary>
public sealed class DeliveryWorkerOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Worker";

    /// <summary>How many deliveries run at once. Default 8.</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 8;

    /// <summary>
    /// How long a leased job stays invisible to other leases (the visibility timeout). Must exceed the worst time of
    /// one delivery attempt (the engine's connect, command and DATA-termination timeouts). Default 15 minutes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The longest the worker sleeps without looking at the queue (enqueues in this process wake it at once). Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan IdlePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether the worker runs at all in this process. Default true.</summary>
    public bool Enabled { get; set; } = true;
}
