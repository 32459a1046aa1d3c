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

    // "Content-Id: <…>" must fit one line of 998 octets; 255 is what any client produces.
    private const int MaxContentIdLength = 255;

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
        if (message.Subject is { Length: var subjectLength } && subjectLength > _limits.MaxSubjectLength)
        {
            errors.Add(new("subject", ValidationCodes.SubjectTooLong,
                $"The subject has {subjectLength} characters; at most {_limits.MaxSubjectLength} are allowed."));
        }

        if (string.IsNullOrEmpty(message.Text) && string.IsNullOrEmpty(message.Html))
        {
            errors.Add(new("text", ValidationCodes.BodyRequired, "A text or an html body is required."));
        }

        if (message.Headers.Count > _limits.MaxHeaders)
        {
            errors.Add(new("headers", ValidationCodes.TooManyHeaders,
                $"{message.Headers.Count} custom headers; at most {_limits.MaxHeaders} are allowed."));
        }
        else
        {
            for (var i = 0; i < message.Headers.Count; i++)
            {
                CheckHeader(errors, $"headers[{i}]", message.Headers[i]);
            }
        }

        var contentIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < message.Attachments.Count; i++)
        {
            CheckAttachment(errors, $"attachments[{i}]", message.Attachments[i], contentIds);
        }

        CheckTags(errors, message.Tags);
        CheckMetadata(errors, message.Metadata);
        return errors;
    }

    /// <summary>The size check, once the message is composed: an error when it is larger than the limit.</summary>
    public ValidationError? CheckComposedSize(long composedBytes) =>
        composedBytes > _limits.MaxMessageBytes
            ? new ValidationError("", ValidationCodes.MessageTooLarge,
                $"The composed message is {composedBytes} bytes; the limit is {_limits.MaxMessageBytes} bytes.")
            : null;

    private void CheckList(List<ValidationError> errors, string field, IReadOnlyList<EmailAddress> list)
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

    private void CheckMailbox(List<ValidationError> errors, string field, EmailAddress mailbox)
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
        CheckLength(errors, $"{field}.name", mailbox.DisplayName, _limits.MaxHeaderValueLength);
    }

    private static void CheckLength(List<ValidationError> errors, string field, string? value, int max)
    {
        if (value is not null && value.Length > max)
        {
            errors.Add(new(field, ValidationCodes.ValueTooLong, $"{value.Length} characters; at most {max} are allowed."));
        }
    }

    private static void CheckText(List<ValidationError> errors, string field, string? value)
    {
        if (value is not null && HasForbiddenCharacters(value))
        {
            errors.Add(new(field, ValidationCodes.ForbiddenCharacters, "CR, LF and NUL are not allowed here."));
        }
    }

    private void CheckHeader(List<ValidationError> errors, string field, MessageHeader header)
    {
        var before = errors.Count;
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

        var value = header.Value ?? "";
        CheckText(errors, $"{field}.value", value);
        if (value.Length > _limits.MaxHeaderValueLength)
        {
            errors.Add(new($"{field}.value", ValidationCodes.HeaderValueTooLong,
                $"The value has {value.Length} characters; at most {_limits.MaxHeaderValueLength} are allowed."));
        }
        else if (errors.Count == before && FoldedLongestLine(header.Name, value) > WireScan.MaxLineOctets)
        {
            errors.Add(new($"{field}.value", ValidationCodes.HeaderLineTooLong,
                $"The header cannot be folded into lines of at most {WireScan.MaxLineOctets} octets (a word or URL is too long)."));
        }
    }

    // The header as the composer will write it (MimeKit's encoding and folding), so a value that cannot be folded
    // (a long URL in List-Unsubscribe) is refused here rather than sent as an over-long line.
    private static int FoldedLongestLine(string name, string value)
    {
        var raw = new Header(System.Text.Encoding.UTF8, name, value).RawValue;
        var longest = 0;
        var start = 0;
        var first = true;
        for (var i = 0; i <= raw.Length; i++)
        {
            if (i == raw.Length || raw[i] == '\n')
            {
                var length = i - start - (i > start && raw[i - 1] == '\r' ? 1 : 0) + (first ? name.Length + 1 : 0);
                longest = Math.Max(longest, length);
                first = false;
                start = i + 1;
            }
        }

        return longest;
    }

    private void CheckTags(List<ValidationError> errors, IReadOnlyList<string> tags)
    {
        if (tags.Count > _limits.MaxTags)
        {
            errors.Add(new("tags", ValidationCodes.TooManyTags, $"{tags.Count} tags; at most {_limits.MaxTags} are allowed."));
            return;
        }

        for (var i = 0; i < tags.Count; i++)
        {
            if (tags[i] is { } tag && tag.Length > _limits.MaxTagLength)
            {
                errors.Add(new($"tags[{i}]", ValidationCodes.TagTooLong,
                    $"The tag has {tag.Length} characters; at most {_limits.MaxTagLength} are allowed."));
            }
        }
    }

    private void CheckMetadata(List<ValidationError> errors, IReadOnlyDictionary<string, string> metadata)
    {
        if (metadata.Count > _limits.MaxMetadataEntries)
        {
            errors.Add(new("metadata", ValidationCodes.TooManyMetadataEntries,
                $"{metadata.Count} metadata entries; at most {_limits.MaxMetadataEntries} are allowed."));
            return;
        }

        var total = 0;
        foreach (var (key, value) in metadata)
        {
            total += key.Length + (value?.Length ?? 0);
            if (key.Length == 0 || key.Length > _limits.MaxMetadataKeyLength)
            {
                errors.Add(new($"metadata.{Truncate(key)}", ValidationCodes.MetadataKeyTooLong,
                    $"A metadata key has 1 to {_limits.MaxMetadataKeyLength} characters."));
            }
            else if (value is not null && value.Length > _limits.MaxMetadataValueLength)
            {
                errors.Add(new($"metadata.{key}", ValidationCodes.MetadataValueTooLong,
                    $"The value has {value.Length} characters; at most {_limits.MaxMetadataValueLength} are allowed."));
            }
        }

        if (total > _limits.MaxMetadataTotalLength)
        {
            errors.Add(new("metadata", ValidationCodes.MetadataTooLarge,
                $"The metadata keys and values have {total} characters together; at most {_limits.MaxMetadataTotalLength} are allowed."));
        }
    }

    // A field path quotes at most the start of an over-long key.
    private static string Truncate(string key) => key.Length <= 40 ? key : key[..40] + "…";

    private void CheckAttachment(List<ValidationError> errors, string field, Attachment attachment, HashSet<string> contentIds)
    {
        if (string.IsNullOrWhiteSpace(attachment.FileName))
        {
            errors.Add(new($"{field}.filename", ValidationCodes.Required, "A file name is required."));
        }
        else
        {
            CheckText(errors, $"{field}.filename", attachment.FileName);
            CheckLength(errors, $"{field}.filename", attachment.FileName, _limits.MaxHeaderValueLength);
        }

        if (string.IsNullOrWhiteSpace(attachment.ContentType))
        {
            errors.Add(new($"{field}.contentType", ValidationCodes.Required, "A content type is required."));
        }
        else if (attachment.ContentType.Length > _limits.MaxHeaderValueLength)
        {
            CheckLength(errors, $"{field}.contentType", attachment.ContentType, _limits.MaxHeaderValueLength);
        }
        else if (HasForbiddenCharacters(attachment.ContentType) || ParseStrictly(attachment.ContentType) is not { } type
                 || string.IsNullOrEmpty(type.MediaSubtype) || type.MediaType.Equals("multipart", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(new($"{field}.contentType", ValidationCodes.InvalidContentType,
                "A content type is type/subtype (multipart types are built by the gateway)."));
        }

        if (attachment.ContentId is not null)
        {
            if (attachment.ContentId.Length > MaxContentIdLength)
            {
                CheckLength(errors, $"{field}.contentId", attachment.ContentId, MaxContentIdLength);
            }
            else if (attachment.ContentId.Length == 0 || attachment.ContentId.Any(c => c is < '!' or > '~' or '<' or '>'))
            {
                errors.Add(new($"{field}.contentId", ValidationCodes.ForbiddenCharacters,
                    "A content-id is printable ASCII without spaces or angle brackets."));
            }
            else if (!WrittenAsGiven(attachment.ContentId))
            {
                errors.Add(new($"{field}.contentId", ValidationCodes.InvalidContentId,
                    "A content-id is a msg-id without its angle brackets (id-left@id-right, or a dot-atom)."));
            }
            else if (!contentIds.Add(attachment.ContentId))
            {
                errors.Add(new($"{field}.contentId", ValidationCodes.DuplicateContentId, "Another attachment has this content-id."));
            }
        }
    }

    // TryParse repairs what it cannot read (an unterminated quote); the composer must get exactly what was checked.
    private static ContentType? ParseStrictly(string value)
    {
        try
        {
            return ContentType.Parse(value);
        }
        catch (ParseException)
        {
            return null;
        }
    }

    // The composer sets the Content-Id through MimeKit, which throws for what it cannot parse ("a.", "(a)") and
    // rewrites some of what it can ("a@@b" becomes "a@b"): either way the html's cid: reference would break.
    private static bool WrittenAsGiven(string contentId)
    {
        try
        {
            var part = new MimePart { ContentId = contentId };
            return string.Equals(part.ContentId, contentId, StringComparison.Ordinal);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool HasForbiddenCharacters(string value) => value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0;
}
