using Microsoft.Extensions.Options;
using MimeKit;

namespace MailGateway.Core.Messages;

/// <summary>
/// A composed message: the MIME, its wire bytes and the envelope. The bytes are valid SMTP data as they are: CRLF line
/// endings only, no line over 998 octets, 7-bit except for UTF-8 addresses (which need a relay with SMTPUTF8).
/// </summary>
/// <param name="Message">The MIME tree.</param>
/// <param name="Bytes">The exact bytes to store and send.</param>
/// <param name="Envelope">MAIL FROM and the de-duplicated RCPT list (To, Cc, Bcc).</param>
public sealed record ComposedMessage(MimeMessage Message, byte[] Bytes, Envelope Envelope);

/// <summary>
/// Builds the MIME for a validated message: multipart/alternative for text + html, multipart/related for inline
/// parts, multipart/mixed for attachments. Bcc never appears in the headers. The Message-ID is derived from the
/// gateway's id, so every attempt sends the same one; the Date comes from <see cref="TimeProvider"/>.
/// </summary>
public sealed class MessageComposer(IOptions<MessageLimitsOptions> options, TimeProvider timeProvider)
{
    /// <summary>Options for writing the stored and sent form: CRLF, UTF-8 headers allowed only where the relay says SMTPUTF8.</summary>
    public static readonly FormatOptions WireFormat = CreateWireFormat();

    private readonly MessageLimitsOptions _options = options.Value;

    /// <summary>Composes <paramref name="message"/> (already validated) with the Message-ID <c>&lt;messageId@domain&gt;</c>.</summary>
    /// <exception cref="MessageCompositionException">The result would not be valid SMTP data (a line over 998 octets).</exception>
    public ComposedMessage Compose(OutboundMessage message, string messageId)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(messageId);

        var mime = new MimeMessage();
        mime.From.Add(ToMailbox(message.From));
        mime.To.AddRange(message.To.Select(ToMailbox));
        mime.Cc.AddRange(message.Cc.Select(ToMailbox));
        mime.ReplyTo.AddRange(message.ReplyTo.Select(ToMailbox));
        DisplayNames.Encode(mime, HeaderId.From, [message.From]);
        DisplayNames.Encode(mime, HeaderId.To, message.To);
        DisplayNames.Encode(mime, HeaderId.Cc, message.Cc);
        DisplayNames.Encode(mime, HeaderId.ReplyTo, message.ReplyTo);
        mime.Subject = message.Subject ?? "";
        mime.Date = timeProvider.GetUtcNow();
        var domain = string.IsNullOrWhiteSpace(_options.MessageIdDomain)
            ? AddressSyntax.AsciiDomainOf(message.From.Address)
            : _options.MessageIdDomain.Trim();
        mime.MessageId = $"{messageId}@{domain}";

        foreach (var header in message.Headers)
        {
            mime.Headers.Add(header.Name, header.Value);
        }

        // Line breaks are the caller's intent, not protocol: every bare CR and bare LF becomes CRLF, so nothing in a
        // body can end a line (or the DATA) early on a lenient relay (SMTP smuggling).
        var body = new BodyBuilder
        {
            TextBody = message.Text is null ? null : WireScan.NormalizeLineBreaks(message.Text),
            HtmlBody = message.Html is null ? null : WireScan.NormalizeLineBreaks(message.Html),
        };
        foreach (var attachment in message.Attachments)
        {
            var part = Opaque(attachment);

            // BodyBuilder writes linked resources only inside the html's multipart/related: without html an inline
            // part would vanish, so it travels as an attachment (still with its Content-ID).
            if (attachment.ContentId is not null && body.HtmlBody is not null)
            {
                body.LinkedResources.Add(part);
            }
            else
            {
                body.Attachments.Add(part);
            }
        }

        mime.Body = body.ToMessageBody();

        // Choose a transfer encoding for every part that is safe for any relay: 7-bit, lines <= 998 octets.
        mime.Prepare(EncodingConstraint.SevenBit);

        using var buffer = new MemoryStream(EstimatedSize(message));
        mime.WriteTo(WireFormat, buffer);
        var bytes = buffer.ToArray();

        var headerBlock = bytes.AsSpan().IndexOf("\r\n\r\n"u8) + 2;
        if (headerBlock > _options.MaxHeaderBytes)
        {
            throw new MessageCompositionException(new ValidationError("headers", ValidationCodes.HeadersTooLarge,
                $"The message's headers take {headerBlock} octets when composed; at most {_options.MaxHeaderBytes} are allowed."));
        }

        // The stored bytes are sent as they are: check once that they are valid SMTP data.
        var scan = WireScan.Of(bytes);
        if (!scan.IsValidSmtpData)
        {
            throw new MessageCompositionException(new ValidationError("", ValidationCodes.UnsendableMessage,
                scan.BareLineBreaks
                    ? "The composed message has a line break that is not CRLF."
                    : $"The composed message has a line of {scan.LongestLine} octets; SMTP allows {WireScan.MaxLineOctets}."));
        }

        var recipients = message.AllRecipients
            .Select(r => r.Address)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        return new ComposedMessage(mime, bytes, new Envelope(message.From.Address, recipients));
    }

    /// <summary>
    /// About the composed size for ASCII text and base64 attachments, so that the buffer is allocated once: grown from
    /// empty it doubled through 256 B … 8 KiB for a 4 KB message (~16 KB of garbage per accept). An underestimate only
    /// means the buffer grows as before.
    /// </summary>
    private static int EstimatedSize(OutboundMessage message)
    {
        long size = 2048 + (message.Text?.Length ?? 0) * 11L / 10 + (message.Html?.Length ?? 0) * 11L / 10;
        foreach (var attachment in message.Attachments)
        {
            size += 512 + attachment.Content.Length * 137L / 100;
        }

        return (int)Math.Min(size, Array.MaxLength);
    }

    // An attachment is opaque bytes whatever its type: a MimePart built here, never BodyBuilder's MessagePart (which
    // parses message/rfc822 content and writes it back rewritten, 8-bit and with long lines), always base64.
    private static MimePart Opaque(Attachment attachment)
    {
        var inline = attachment.ContentId is not null;
        var part = new MimePart(ContentType.Parse(attachment.ContentType))
        {
            Content = new MimeContent(new MemoryStream(attachment.Content.ToArray(), writable: false)),
            ContentTransferEncoding = ContentEncoding.Base64,
            ContentDisposition = new ContentDisposition(inline ? ContentDisposition.Inline : ContentDisposition.Attachment)
            {
                FileName = attachment.FileName,
            },
        };
        part.ContentType.Name = attachment.FileName;
        if (inline)
        {
            part.ContentId = attachment.ContentId;
        }

        return part;
    }

    private static MailboxAddress ToMailbox(EmailAddress address) => new(address.DisplayName ?? "", address.Address);

    private static FormatOptions CreateWireFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.EnsureNewLine = true;
        return format;
    }
}

/// <summary>The message cannot be composed into valid SMTP data; <see cref="Error"/> says why, as a field error.</summary>
public sealed class MessageCompositionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MessageCompositionException(ValidationError error) : base(error?.Message) => Error = error!;

    /// <summary>Creates the exception.</summary>
    public MessageCompositionException() : this(new ValidationError("", ValidationCodes.UnsendableMessage, "The message cannot be composed."))
    {
    }

    /// <summary>Creates the exception.</summary>
    public MessageCompositionException(string message) : this(new ValidationError("", ValidationCodes.UnsendableMessage, message))
    {
    }

    /// <summary>Creates the exception.</summary>
    public MessageCompositionException(string message, Exception innerException) : base(message, innerException) =>
        Error = new ValidationError("", ValidationCodes.UnsendableMessage, message);

    /// <summary>The problem, to report to the caller.</summary>
    public ValidationError Error { get; }
}
