using System.ComponentModel.DataAnnotations;

namespace MailGateway.ServiceDefaults.Health;

/// <summary>The health endpoints of every host (section <c>MailGateway:Health</c>).</summary>
public sealed class HealthOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Health";

    /// <summary>
    /// How long one readiness check may take before it counts as unavailable. The SDK clients retry for minutes; a
    /// probe must answer within the platform's probe timeout (Container Apps: 1 s by default, up to 240 s). Default 4 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "MailGateway:Health:ProbeTimeout must be between 00:00:00.100 and 00:05:00.")]
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(4);
}
