using System.ComponentModel.DataAnnotations;

namespace MailGateway.Standalone;

/// <summary>The built-in capture SMTP listener, used when no relay is configured (configuration section <c>MailGateway:Capture</c>).</summary>
public sealed class CaptureOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Capture";

    /// <summary>The address it listens on. Loopback only by default.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The port. Default 2525.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 2525;

    /// <summary>The largest message it accepts, in bytes. Default 25 MB.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxMessageBytes { get; set; } = 25 * 1024 * 1024;
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
