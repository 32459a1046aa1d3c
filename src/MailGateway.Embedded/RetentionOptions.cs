using System.ComponentModel.DataAnnotations;

namespace MailGateway.Embedded;

/// <summary>How long the standalone host keeps what it no longer needs (configuration section <c>MailGateway:Retention</c>).</summary>
public sealed class RetentionOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Retention";

    /// <summary>
    /// How long a message in a final state (delivered, failed, expired, unknown) is kept after it reached it: its status
    /// record, its stored content and the idempotency keys that point to it are removed after this. At least one hour;
    /// default 30 days.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan FinalMessages { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the janitor looks (leftovers of a crash and messages past <see cref="FinalMessages"/>). Default one hour.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);
}
