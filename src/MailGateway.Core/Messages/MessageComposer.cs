using Microsoft.Extensions.Options;
using MimeKit;

namespace MailGateway.Core.Messages;

/// <summary>A composed message: the MIME, its wire bytes (CRLF line endings, 7-bit safe) and the envelope.</summary>
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
    public ComposedMessage Compose(OutboundMessage message, string messageId)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(messageId);

        var mime = new MimeMessage();
        mime.From.Add(ToMailbox(message.From));
        mime.To.AddRange(message.To.Select(ToMailbox));
        mime.Cc.AddRange(message.Cc.Select(ToMailbox));
        mime.ReplyTo.AddRange(message.ReplyTo.Select(ToMailbox));
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

        var body = new BodyBuilder { TextBody = message.Text, HtmlBody = message.Html };
        foreach (var attachment in message.Attachments)
        {
            var contentType = ContentType.Parse(attachment.ContentType);
            var content = attachment.Content.ToArray();
            var part = attachment.ContentId is not null
                ? body.LinkedResources.Add(attachment.FileName, content, contentType)
                : body.Attachments.Add(attachment.FileName, content, contentType);
            if (attachment.ContentId is not null)
            {
                part.ContentId = attachment.ContentId;
            }

            // Base64 keeps the caller's bytes exactly, line endings of text attachments included.
            if (part is MimePart mimePart)
            {
                mimePart.ContentTransferEncoding = ContentEncoding.Base64;
            }
        }

        mime.Body = body.ToMessageBody();

        // Choose a transfer encoding for every part that is safe for any relay: 7-bit, lines <= 998 octets.
        mime.Prepare(EncodingConstraint.SevenBit);

        using var buffer = new MemoryStream();
        mime.WriteTo(WireFormat, buffer);

        var recipients = message.AllRecipients
            .Select(r => r.Address)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        return new ComposedMessage(mime, buffer.ToArray(), new Envelope(message.From.Address, recipients));
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
