using MailGateway.Core.Messages;
using MailGateway.Core.Status;

namespace MailGateway.Api;

/// <summary>Maps the request DTO to the Core model, reporting what only the API can see (base64, dates, missing values).</summary>
internal static class RequestMapper
{
    public static (OutboundMessage? Message, List<FieldError> Errors) ToMessage(SendMessageRequest dto, DateTimeOffset now)
    {
        var errors = new List<FieldError>();
        if (dto.From is null)
        {
            errors.Add(new("from", ValidationCodes.Required, "A sender is required."));
        }

        var headers = new List<MessageHeader>();
        for (var i = 0; i < (dto.Headers?.Count ?? 0); i++)
        {
            var header = dto.Headers![i];
            if (header is null)
            {
                errors.Add(new($"headers[{i}]", ValidationCodes.Required, "A header is {name, value}."));
                continue;
            }

            if (header.Value is null)
            {
                errors.Add(new($"headers[{i}].value", ValidationCodes.Required, "A header value is required."));
            }

            headers.Add(new MessageHeader(header.Name!, header.Value ?? ""));
        }

        var attachments = new List<Attachment>();
        for (var i = 0; i < (dto.Attachments?.Count ?? 0); i++)
        {
            var attachment = dto.Attachments![i];
            if (attachment is null)
            {
                errors.Add(new($"attachments[{i}]", ValidationCodes.Required, "An attachment is {filename, contentType, content}."));
                continue;
            }

            byte[] content = [];
            if (attachment.Content is null)
            {
                errors.Add(new($"attachments[{i}].content", ValidationCodes.Required, "The content (base64) is required."));
            }
            else
            {
                try
                {
                    content = Convert.FromBase64String(attachment.Content);
                }
                catch (FormatException)
                {
                    errors.Add(new($"attachments[{i}].content", ApiErrorCodes.InvalidBase64, "The content is not valid base64."));
                }
            }

            attachments.Add(new Attachment(attachment.Filename!, attachment.ContentType!, content, attachment.ContentId));
        }

        var tags = dto.Tags ?? [];
        for (var i = 0; i < tags.Count; i++)
        {
            if (tags[i] is null)
            {
                errors.Add(new($"tags[{i}]", ValidationCodes.Required, "A tag is a string."));
            }
        }

        if (dto.ExpiresAt is { } expiresAt)
        {
            if (expiresAt <= now)
            {
                errors.Add(new("expiresAt", ApiErrorCodes.InThePast, "expiresAt must be in the future."));
            }
            else if (dto.SendAt is { } sendAt && expiresAt <= sendAt)
            {
                errors.Add(new("expiresAt", ApiErrorCodes.BeforeSendAt, "expiresAt must be after sendAt."));
            }
        }

        if (dto.From is null)
        {
            return (null, errors);
        }

        var message = new OutboundMessage
        {
            From = Address(dto.From),
            To = Addresses(dto.To),
            Cc = Addresses(dto.Cc),
            Bcc = Addresses(dto.Bcc),
            ReplyTo = Addresses(dto.ReplyTo),
            Subject = dto.Subject,
            Text = dto.Text,
            Html = dto.Html,
            Headers = headers,
            Attachments = attachments,
            Tags = [.. tags.Where(t => t is not null)],
            Metadata = dto.Metadata ?? [],
        };
        return (message, errors);
    }

    // Null entries and null addresses pass through: the validator reports them with their index.
    private static List<EmailAddress> Addresses(List<AddressDto>? list) => list is null ? [] : [.. list.Select(a => a is null ? null! : Address(a))];

    private static EmailAddress Address(AddressDto dto) => new(dto.Address!, dto.Name);
}

/// <summary>Maps a status record to the API answer.</summary>
internal static class StatusMapper
{
    public static MessageStatusResponse ToResponse(MessageRecord record) => new(
        record.Id,
        Name(record.State),
        record.CreatedAt,
        record.UpdatedAt,
        record.SendAt,
        record.ExpiresAt,
        record.NextAttemptAt,
        record.LastReply,
        [.. record.Attempts.Select(a => new AttemptResponse(a.Number, a.StartedAt, (long)a.Duration.TotalMilliseconds, a.Outcome.ToString().ToLowerInvariant(), a.Port, a.TlsProtocol, a.Reply))],
        [.. record.Recipients.Select(r => new RecipientResponse(r.Address, r.State.ToString().ToLowerInvariant(), r.Reply?.ToString()))],
        record.Tags,
        record.Metadata);

    public static MessageSummaryResponse ToSummary(MessageRecord record) => new(
        record.Id,
        Name(record.State),
        record.Owner,
        record.CreatedAt,
        record.UpdatedAt,
        record.SendAt,
        record.NextAttemptAt,
        record.Envelope?.MailFrom,
        record.Envelope?.Recipients ?? [],
        record.Tags,
        record.LastReply);

    /// <summary>The wire name of a state: queued, scheduled, sending, delivered, deferred, failed, expired, unknown, canceled.</summary>
    public static string Name(MessageState state) => state.ToString().ToLowerInvariant();
}
