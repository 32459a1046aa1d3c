using System.ComponentModel.DataAnnotations;

namespace MailGateway.Embedded;

/// <summary>
/// What only the SQLite pump needs, in the worker's section <c>MailGateway:DeliveryWorker</c> (with the knobs every
/// worker shares: <see cref="Core.Queue.DeliveryWorkerOptions"/>).
/// </summary>
public sealed class SqliteDeliveryWorkerOptions
{
    /// <summary>The configuration section (the worker's).</summary>
    public const string SectionName = Core.Queue.DeliveryWorkerOptions.SectionName;

    /// <summary>
    /// How long a leased job stays invisible to other leases (the visibility timeout). The worker renews the lease
    /// every third of this while it handles the job, so it bounds how long a crashed run's job waits, not how long a
    /// delivery may take. Default 5 minutes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest the worker sleeps without looking at the queue (enqueues in this process wake it at once). Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan IdlePollInterval { get; set; } = TimeSpan.FromSeconds(5);
}
