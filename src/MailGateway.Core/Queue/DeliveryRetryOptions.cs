using System.ComponentModel.DataAnnotations;

namespace MailGateway.Core.Queue;

/// <summary>How the delivery worker retries across attempts (configuration section <c>MailGateway:Delivery</c>).</summary>
public sealed class DeliveryRetryOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Delivery";

    /// <summary>The default schedule: 1 m, 5 m, 15 m, 30 m, 1 h, 2 h, 4 h (then every 4 h).</summary>
    public static IReadOnlyList<TimeSpan> DefaultBackoff { get; } =
    [
        TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4),
    ];

    /// <summary>
    /// Delay before attempt n+1 after attempt n was deferred; the last entry repeats. Empty (the default): the
    /// <see cref="DefaultBackoff"/> schedule. (Empty rather than pre-filled, because configuration binding appends
    /// to a pre-filled list instead of replacing it.)
    /// </summary>
    public List<TimeSpan> Backoff { get; set; } = [];

    /// <summary>The schedule in effect.</summary>
    public IReadOnlyList<TimeSpan> EffectiveBackoff => Backoff.Count > 0 ? Backoff : DefaultBackoff;

    /// <summary>Random spread applied to each backoff delay, as a fraction (0.2 = ±20 %), so retries do not arrive in waves.</summary>
    [Range(0.0, 1.0)]
    public double JitterFraction { get; set; } = 0.2;

    /// <summary>How long after acceptance a message may still be attempted (RFC 5321 suggests 4–5 days). Default 5 days.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(5);

    /// <summary>
    /// When the relay may or may not have accepted a message (connection lost after the final dot), resend it like a
    /// deferred one. Off by default: an unknown outcome is recorded and the job dead-lettered for an operator, since
    /// resending risks a duplicate.
    /// </summary>
    public bool ResendUnknown { get; set; }

    /// <summary>
    /// The longest one delivery attempt may take: loading the stored message and the whole SMTP session (every
    /// connection attempt over every port, every transaction). When it passes the attempt ends (deferred, or unknown
    /// after the final dot) and the job is settled; a job that cannot even be loaded in time is left unsettled and
    /// comes back after its lease, so after MaxDeliveryCount it is dead-lettered. Default 20 minutes: above the
    /// engine's own worst case with the default relay timeouts, below the Service Bus lock renewal (30 minutes).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Delete the stored MIME once the message is delivered. On by default.</summary>
    public bool DeleteContentAfterDelivery { get; set; } = true;

    /// <summary>The delay after attempt <paramref name="attempt"/> (1-based), with jitter drawn from <paramref name="random"/>.</summary>
    public TimeSpan BackoffAfter(int attempt, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var schedule = EffectiveBackoff;
        var baseDelay = schedule[Math.Clamp(attempt - 1, 0, schedule.Count - 1)];
        if (JitterFraction <= 0)
        {
            return baseDelay;
        }

        var factor = 1 + (((random.NextDouble() * 2) - 1) * JitterFraction);
        return TimeSpan.FromTicks((long)(baseDelay.Ticks * factor));
    }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Backoff.Any(d => d <= TimeSpan.Zero))
        {
            yield return new ValidationResult($"{SectionName}:Backoff: every delay must be positive.", [nameof(Backoff)]);
        }
    }
}
