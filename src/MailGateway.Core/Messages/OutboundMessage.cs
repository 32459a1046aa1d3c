namespace MailGateway.Core.Messages;

/// <summary>An address with an optional display name, as the caller sent it.</summary>
public sealed record EmailAddress(string Address, string? DisplayName = null)
{
    /// <inheritdoc />
    public override string ToString() => DisplayName is null ? Address : $"{DisplayName} <{Address}>";
}

/// <summary>A custom header the caller asked for. Structural headers (From, Date, Content-*, …) are refused by validation.</summary>
public sealed record MessageHeader(string Name, string Value);

/// <summary>An attachment; a <see cref="ContentId"/> makes it an inline part of a multipart/related body.</summary>
public sealed record Attachment(string FileName, string ContentType, ReadOnlyMemory<byte> Content, string? ContentId = null);

/// <summary>A message as an application submitted it, before MIME composition.</summary>
public sealed record OutboundMessage
{
    /// <summary>The author (From header and, unless overridden, the envelope sender).</summary>
    public required EmailAddress From { get; init; }

    /// <summary>Primary recipients.</summary>
    public IReadOnlyList<EmailAddress> To { get; init; } = [];

    /// <summary>Carbon-copy recipients.</summary>
    public IReadOnlyList<EmailAddress> Cc { get; init; } = [];

    /// <summary>Blind recipients: envelope only, never written into the MIME.</summary>
    public IReadOnlyList<EmailAddress> Bcc { get; init; } = [];

    /// <summary>Reply-To addresses.</summary>
    public IReadOnlyList<EmailAddress> ReplyTo { get; init; } = [];

    /// <summary>The subject line.</summary>
    public string? Subject { get; init; }

    /// <summary>The text/plain body.</summary>
    public string? Text { get; init; }

    /// <summary>The text/html body.</summary>
    public string? Html { get; init; }

    /// <summary>Custom headers (X-…, List-Unsubscribe, …).</summary>
    public IReadOnlyList<MessageHeader> Headers { get; init; } = [];

    /// <summary>Attachments and inline parts.</summary>
    public IReadOnlyList<Attachment> Attachments { get; init; } = [];

    /// <summary>Tags for the caller's own bookkeeping; not emitted as headers.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Key/value metadata for the caller's own bookkeeping; not emitted as headers.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Every envelope recipient: To, Cc and Bcc, in that order.</summary>
    public IEnumerable<EmailAddress> AllRecipients => To.Concat(Cc).Concat(Bcc);
}
