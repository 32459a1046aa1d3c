using System.ComponentModel.DataAnnotations;
using System.Net;

namespace MailGateway.Standalone;

/// <summary>
/// The capture, used when no relay is configured (configuration section <c>MailGateway:Capture</c>): the inbound
/// listener on loopback accepting every recipient, and the relay the gateway delivers to.
/// </summary>
public sealed class CaptureOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Capture";

    /// <summary>The loopback address it listens on (127.0.0.1, another 127.x address or ::1). Default 127.0.0.1.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The port. Default 2525.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 2525;

    /// <summary>The largest message it accepts, in bytes. Default 25 MB.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxMessageBytes { get; set; } = 25 * 1024 * 1024;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The capture accepts mail for any domain: never reachable from another machine.
        if (!string.IsNullOrEmpty(Host) && (!IPAddress.TryParse(Host, out var address) || !IPAddress.IsLoopback(address)))
        {
            yield return new ValidationResult(
                $"{SectionName}:Host must be a loopback IP address such as 127.0.0.1 or ::1 (the capture accepts any recipient); got '{Host}'.", [nameof(Host)]);
        }
    }
}

/// <summary>Settings of the standalone host itself (configuration section <c>MailGateway:Standalone</c>).</summary>
public sealed class StandaloneOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Standalone";

    /// <summary>
    /// The sender domains of the development API key, which is generated (once, kept in the data folder) only when
    /// no key is configured under <c>MailGateway:Api:Keys</c>. Default <c>example.com</c>.
    /// </summary>
    public List<string> DevSenderDomains { get; set; } = [];
}
