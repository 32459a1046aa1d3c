using System.ComponentModel.DataAnnotations;

namespace MailGateway.Core.Keys;

/// <summary>
/// Rate limits of every entry point that takes an API key (configuration section <c>MailGateway:RateLimits</c>): every
/// <c>/api</c> endpoint of every host and SMTP submission. Requests without a valid API key per client address (guessing
/// keys; for SMTP a failed AUTH), and requests per API key (for SMTP one message). Read at start.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:RateLimits";

    /// <summary>Limit at all. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Requests without a valid API key (no key, an unknown one) one client address may make per <see cref="FailedAuthWindow"/>; IPv6 addresses count per /64. Default 20.</summary>
    [Range(1, int.MaxValue)]
    public int FailedAuthPerAddress { get; set; } = 20;

    /// <summary>The window of <see cref="FailedAuthPerAddress"/> (fixed windows). Default 1 minute.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FailedAuthWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Requests one API key may make at once (the size of its token bucket). Default 1000.</summary>
    [Range(1, int.MaxValue)]
    public int PerKeyBurst { get; set; } = 1000;

    /// <summary>Requests given back to a key's bucket every <see cref="PerKeyPeriod"/>. Default 100 (with the default period: 100 requests/s sustained).</summary>
    [Range(1, int.MaxValue)]
    public int PerKeyRate { get; set; } = 100;

    /// <summary>The period of <see cref="PerKeyRate"/>. Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan PerKeyPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Take the client address from the last entry of <c>X-Forwarded-For</c> (the one the nearest proxy added) instead
    /// of the connection. Only behind a proxy that appends it (the Functions host, where it is the default); otherwise
    /// a client could choose its own address. Default false (the Functions host: true).
    /// </summary>
    public bool TrustForwardedFor { get; set; }
}
