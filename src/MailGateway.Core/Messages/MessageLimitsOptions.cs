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

    /// <summary>At most this many characters in the subject. Default 998 (one header line of RFC 5322).</summary>
    [Range(1, 100_000)]
    public int MaxSubjectLength { get; set; } = 998;

    /// <summary>At most this many custom headers. Default 50.</summary>
    [Range(0, 1000)]
    public int MaxHeaders { get; set; } = 50;

    /// <summary>
    /// At most this many characters in a custom header value, and in a display name, attachment file name or content
    /// type. Default 998 (one header line of RFC 5322).
    /// </summary>
    [Range(1, 100_000)]
    public int MaxHeaderValueLength { get; set; } = 998;

    /// <summary>At most this many octets in the composed header block of the message (all headers, folded). Default 100 KiB (Postfix's header_size_limit).</summary>
    [Range(1024, 10 * 1024 * 1024)]
    public int MaxHeaderBytes { get; set; } = 100 * 1024;

    /// <summary>At most this many tags per message. Default 10.</summary>
    [Range(0, 1000)]
    public int MaxTags { get; set; } = 10;

    /// <summary>At most this many characters per tag. Default 128.</summary>
    [Range(1, 10_000)]
    public int MaxTagLength { get; set; } = 128;

    /// <summary>At most this many metadata entries per message. Default 50.</summary>
    [Range(0, 1000)]
    public int MaxMetadataEntries { get; set; } = 50;

    /// <summary>At most this many characters per metadata key. Default 40.</summary>
    [Range(1, 10_000)]
    public int MaxMetadataKeyLength { get; set; } = 40;

    /// <summary>At most this many characters per metadata value. Default 500.</summary>
    [Range(1, 100_000)]
    public int MaxMetadataValueLength { get; set; } = 500;

    /// <summary>At most this many characters in all metadata keys and values together. Default 10,000.</summary>
    [Range(1, 1_000_000)]
    public int MaxMetadataTotalLength { get; set; } = 10_000;

    /// <summary>
    /// The domain of generated Message-ID headers (<c>&lt;id@domain&gt;</c>). Empty: the sender's domain.
    /// </summary>
    [MaxLength(255)]
    public string? MessageIdDomain { get; set; }
}
