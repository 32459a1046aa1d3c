using System.ComponentModel.DataAnnotations;

namespace MailGateway.Api;

/// <summary>
/// The HTTP API (configuration section <c>MailGateway:Api</c>). Its <c>Keys</c> are Core's
/// (<see cref="Core.Keys.ApiKeysOptions"/>), shared with every entry point that takes a key.
/// </summary>
public sealed class ApiOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Api";

    /// <summary>The largest request body accepted, in bytes; larger requests get 413 before the body is read. Default 16 MiB (a 10 MB message with base64 attachments).</summary>
    [Range(1024, int.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>The Retry-After a 503 answer suggests. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);
}
