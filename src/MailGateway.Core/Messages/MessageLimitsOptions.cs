using System.ComponentModel.DataAnnotations;

namespace MailGateway.Core.Messages;

/// <summary>Limits applied to every submitted message (configuration section <c>MailGateway:Messages</c>).</summary>
public sealed class MessageLimitsOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Messages";

    /// <summary>At most this many recipients (To + Cc + Bcc) per message. Default 50.</summary>
    [Range(1, 10_000)]
    public int MaxRecipients { get; set; } = 50;

    /// <summary>At most this many bytes of composed MIME (attachments base64-encoded). Default 10 MB.</summary>
    [Range(1024, 1L << 32)]
    public long MaxMessageBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>
    /// The domain of generated Message-ID headers (<c>&lt;id@domain&gt;</c>). Empty: the sender's domain.
    /// </summary>
    public string? MessageIdDomain { get; set; }
}
