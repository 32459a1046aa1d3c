using Microsoft.Extensions.Options;
using MimeKit;

namespace MailGateway.Core.Messages;

/// <summary>
/// Validates a submitted message and reports every problem at once. Characters that MimeKit would silently strip
/// (CR, LF, NUL) are rejected instead, so the gateway never sends something other than what the caller wrote.
/// </summary>
public sealed class MessageValidator(IOptions<MessageLimitsOptions> options)
{
    // Headers the gateway writes itself or that describe the MIME structure or the transport.
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "Sender", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version",
        "Received", "Return-Path", "Delivered-To", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc",
        "Resent-Bcc", "Resent-Date", "Resent-Message-ID", "Content-Type", "Content-Transfer-Encoding",
        "Content-Disposition", "Content-ID", "Content-Description", "Content-Length", "DKIM-Signature",
        "ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results", "Authentication-Results",
    };

    private readonly MessageLimitsOptions _limits = options.Value;

    /// <summary>Every problem with <paramref name="message"/>; empty when it can be composed and sent.</summary>
    public IReadOnlyList<ValidationError> Validate(OutboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var errors = new List<ValidationError>();

        if (message.From is null)
        {
            errors.Add(new("from", ValidationCodes.Required, "A sender is required."));
        }
        else
        {
            CheckMailbox(errors, "from", message.From);
        }

        CheckList(errors, "to", message.To);
        CheckList(errors, "cc", message.Cc);
        CheckList(errors, "bcc", message.Bcc);
        CheckList(errors, "replyTo", message.ReplyTo);

        var recipients = message.To.Count + message.Cc.Count + message.Bcc.Count;
        if (recipients == 0)
        {
            errors.Add(new("to", ValidationCodes.NoRecipients, "At least one recipient (to, cc or bcc) is required."));
        }
        else if (recipients > _limits.MaxRecipients)
        {
            errors.Add(new("to", ValidationCodes.TooManyRecipients,
                $"{recipients} recipients; at most {_limits.MaxRecipients} are allowed per message."));
        }

        CheckText(errors, "subject", message.Subject);

        if (string.IsNullOrEmpty(message.Text) && string.IsNullOrEmpty(message.Html))
        {
            errors.Add(new("text", ValidationCodes.BodyRequired, "A text or an html body is required."));
        }

        for (var i = 0; i < message.Headers.Count; i++)
        {
            CheckHeader(errors, $"headers[{i}]", message.Headers[i]);
        }

        var contentIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < message.Attachments.Count; i++)
        {
            CheckAttachment(errors, $"attachments[{i}]", message.Attachments[i], contentIds);
        }

        return errors;
    }

    /// <summary>The size check, once the message is composed: an error when it is larger than the limit.</summary>
    public ValidationError? CheckComposedSize(long composedBytes) =>
        composedBytes > _limits.MaxMessageBytes
            ? new ValidationError("", ValidationCodes.MessageTooLarge,
                $"The composed message is {composedBytes} bytes; the limit is {_limits.MaxMessageBytes} bytes.")
            : null;

    private static void CheckList(List<ValidationError> errors, string field, IReadOnlyList<EmailAddress> list)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is null)
            {
                errors.Add(new($"{field}[{i}]", ValidationCodes.Required, "An address is required."));
                continue;
            }

            CheckMailbox(errors, $"{field}[{i}]", list[i]);
        }
    }

    private static void CheckMailbox(List<ValidationError> errors, string field, EmailAddress mailbox)
    {
        var code = mailbox.Address is not null && HasForbiddenCharacters(mailbox.Address)
            ? ValidationCodes.ForbiddenCharacters
            : AddressSyntax.Check(mailbox.Address);
        if (code is not null)
        {
            errors.Add(new($"{field}.address", code, code switch
            {
                ValidationCodes.Required => "An address is required.",
                ValidationCodes.LocalPartTooLong => $"The local-part is longer than {AddressSyntax.MaxLocalPartOctets} octets.",
                ValidationCodes.DomainTooLong => $"The domain is longer than {AddressSyntax.MaxDomainOctets} octets.",
                ValidationCodes.PathTooLong => $"The address is longer than {AddressSyntax.MaxPathOctets - 2} octets.",
                ValidationCodes.ForbiddenCharacters => "The address contains CR, LF or NUL.",
                _ => "Not a valid email address.",
            }));
        }

        CheckText(errors, $"{field}.name", mailbox.DisplayName);
    }

    private static void CheckText(List<ValidationError> errors, string field, string? value)
    {
        if (value is not null && HasForbiddenCharacters(value))
        {
            errors.Add(new(field, ValidationCodes.ForbiddenCharacters, "CR, LF and NUL are not allowed here."));
        }
    }

    private static void CheckHeader(List<ValidationError> errors, string field, MessageHeader header)
    {
        if (string.IsNullOrEmpty(header?.Name))
        {
            errors.Add(new($"{field}.name", ValidationCodes.Required, "A header name is required."));
            return;
        }

        if (header.Name.Any(c => c is < '!' or > '~' or ':'))
        {
            errors.Add(new($"{field}.name", ValidationCodes.InvalidHeaderName,
                "A header name is printable ASCII without spaces or colons."));
        }
        else if (ReservedHeaders.Contains(header.Name) || header.Name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(new($"{field}.name", ValidationCodes.ReservedHeader,
                $"'{header.Name}' is set by the gateway or describes the MIME structure; use the message fields instead."));
        }

        CheckText(errors, $"{field}.value", header.Value ?? "");
    }

    private static void CheckAttachment(List<ValidationError> errors, string field, Attachment attachment, HashSet<string> contentIds)
    {
        if (string.IsNullOrWhiteSpace(attachment.FileName))
        {
            errors.Add(new($"{field}.filename", ValidationCodes.Required, "A file name is required."));
        }
        else
        {
            CheckText(errors, $"{field}.filename", attachment.FileName);
        }

        if (string.IsNullOrWhiteSpace(attachment.ContentType))
        {
            errors.Add(new($"{field}.contentType", ValidationCodes.Required, "A content type is required."));
        }
        else if (HasForbiddenCharacters(attachment.ContentType) || !ContentType.TryParse(attachment.ContentType, out var type)
                 || string.IsNullOrEmpty(type.MediaSubtype) || type.MediaType.Equals("multipart", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(new($"{field}.contentType", ValidationCodes.InvalidContentType,
                "A content type is type/subtype (multipart types are built by the gateway)."));
        }

        if (attachment.ContentId is not null)
        {
            if (attachment.ContentId.Length == 0 || attachment.ContentId.Any(c => c is < '!' or > '~' or '<' or '>'))
            {
                errors.Add(new($"{field}.contentId", ValidationCodes.ForbiddenCharacters,
                    "A content-id is printable ASCII without spaces or angle brackets."));
            }
            else if (!contentIds.Add(attachment.ContentId))
            {
                errors.Add(new($"{field}.contentId", ValidationCodes.DuplicateContentId, "Another attachment has this content-id."));
            }
        }
    }

    private static bool HasForbiddenCharacters(string value) => value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0;
}
