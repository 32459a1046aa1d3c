using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailGateway.Api;

/// <summary>An address: <c>"a@example.com"</c> or <c>{"address": "a@example.com", "name": "A"}</c>.</summary>
[JsonConverter(typeof(AddressDtoConverter))]
public sealed class AddressDto
{
    /// <summary>The email address.</summary>
    public string? Address { get; set; }

    /// <summary>The display name.</summary>
    public string? Name { get; set; }
}

/// <summary>A custom header.</summary>
public sealed class HeaderDto
{
    /// <summary>The header name (X-…, List-Unsubscribe, …).</summary>
    public string? Name { get; set; }

    /// <summary>The header value.</summary>
    public string? Value { get; set; }
}

/// <summary>An attachment; <c>contentId</c> makes it an inline part (referenced as <c>cid:…</c> from the html).</summary>
public sealed class AttachmentDto
{
    /// <summary>The file name.</summary>
    public string? Filename { get; set; }

    /// <summary>The media type, e.g. <c>application/pdf</c>.</summary>
    public string? ContentType { get; set; }

    /// <summary>The content, base64.</summary>
    public string? Content { get; set; }

    /// <summary>The content-id of an inline part.</summary>
    public string? ContentId { get; set; }
}

/// <summary>The body of <c>POST /api/v1/messages</c>.</summary>
public sealed class SendMessageRequest
{
    /// <summary>The sender; its domain must be one the API key may use.</summary>
    public AddressDto? From { get; set; }

    /// <summary>Primary recipients.</summary>
    public List<AddressDto>? To { get; set; }

    /// <summary>Carbon-copy recipients.</summary>
    public List<AddressDto>? Cc { get; set; }

    /// <summary>Blind recipients (envelope only).</summary>
    public List<AddressDto>? Bcc { get; set; }

    /// <summary>Reply-To addresses.</summary>
    public List<AddressDto>? ReplyTo { get; set; }

    /// <summary>The subject.</summary>
    public string? Subject { get; set; }

    /// <summary>The text/plain body.</summary>
    public string? Text { get; set; }

    /// <summary>The text/html body.</summary>
    public string? Html { get; set; }

    /// <summary>Custom headers.</summary>
    public List<HeaderDto>? Headers { get; set; }

    /// <summary>Attachments and inline parts.</summary>
    public List<AttachmentDto>? Attachments { get; set; }

    /// <summary>Tags for your own bookkeeping (returned by the status API, never sent).</summary>
    public List<string>? Tags { get; set; }

    /// <summary>Metadata for your own bookkeeping (returned by the status API, never sent).</summary>
    public Dictionary<string, string>? Metadata { get; set; }

    /// <summary>Send no earlier than this time (ISO 8601 with a UTC offset or <c>Z</c>).</summary>
    [JsonConverter(typeof(OffsetRequiredDateTimeConverter))]
    public DateTimeOffset? SendAt { get; set; }

    /// <summary>Deliver by this time or give up (status <c>expired</c>); ISO 8601 with a UTC offset or <c>Z</c>.</summary>
    [JsonConverter(typeof(OffsetRequiredDateTimeConverter))]
    public DateTimeOffset? ExpiresAt { get; set; }
}

/// <summary>The 202 answer.</summary>
/// <param name="Id">The message id (use it with <c>GET /api/v1/messages/{id}</c>).</param>
/// <param name="Status"><c>queued</c>, or <c>scheduled</c> when <c>sendAt</c> is in the future.</param>
public sealed record AcceptedMessageResponse(string Id, string Status);

/// <summary>One delivery attempt.</summary>
public sealed record AttemptResponse(int Number, DateTimeOffset StartedAt, long DurationMs, string Outcome, int? Port, string? Tls, string? Reply);

/// <summary>The latest state of one recipient.</summary>
public sealed record RecipientResponse(string Address, string Status, string? Reply);

/// <summary>The answer of <c>GET /api/v1/messages/{id}</c>.</summary>
public sealed record MessageStatusResponse(
    string Id,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? SendAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? NextAttemptAt,
    string? LastReply,
    IReadOnlyList<AttemptResponse> Attempts,
    IReadOnlyList<RecipientResponse> Recipients,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>One message in the answer of <c>GET /api/v1/messages</c> (the full status: <c>GET /api/v1/messages/{id}</c>).</summary>
/// <param name="Id">The message id.</param>
/// <param name="Status">The state, as in the status answer.</param>
/// <param name="ApiKey">The id of the API key that sent it.</param>
/// <param name="CreatedAt">When it was accepted (the list's order, newest first).</param>
/// <param name="UpdatedAt">When its status last changed.</param>
/// <param name="SendAt">The scheduled send time.</param>
/// <param name="NextAttemptAt">When the next attempt is due.</param>
/// <param name="From">The envelope sender.</param>
/// <param name="Recipients">The envelope recipients (to, cc and bcc).</param>
/// <param name="Tags">The caller's tags.</param>
/// <param name="LastReply">The last reply or reason.</param>
public sealed record MessageSummaryResponse(
    string Id,
    string Status,
    string ApiKey,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? SendAt,
    DateTimeOffset? NextAttemptAt,
    string? From,
    IReadOnlyList<string> Recipients,
    IReadOnlyList<string> Tags,
    string? LastReply);

/// <summary>The answer of <c>GET /api/v1/messages</c>: one page, newest first.</summary>
/// <param name="Items">The messages of this page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; absent on the last page.</param>
public sealed record MessageListResponse(IReadOnlyList<MessageSummaryResponse> Items, string? NextCursor);

/// <summary>A dead letter (<c>GET /api/v1/dead-letters</c>, <c>GET /api/v1/dead-letters/{id}</c>).</summary>
/// <param name="Id">The dead letter's id (use it with replay and delete).</param>
/// <param name="MessageId">The message.</param>
/// <param name="ApiKey">The key that sent the message.</param>
/// <param name="Reason">Failed, Expired, Unknown, ContentMissing, MalformedJob or TooManyDeliveries.</param>
/// <param name="Description">The last reply or the reason in words.</param>
/// <param name="Attempt">The attempt number of the dead job.</param>
/// <param name="DeliveryCount">How often the queue handed the job out.</param>
/// <param name="DeadLetteredAt">When it was dead-lettered.</param>
/// <param name="Recipients">The recipients of the dead job.</param>
/// <param name="Message">The message's status with every attempt (only in <c>GET …/{id}</c>).</param>
public sealed record DeadLetterResponse(
    string Id,
    string MessageId,
    string ApiKey,
    string Reason,
    string Description,
    int Attempt,
    int DeliveryCount,
    DateTimeOffset DeadLetteredAt,
    IReadOnlyList<string> Recipients,
    MessageStatusResponse? Message);

/// <summary>The answer of <c>GET /api/v1/dead-letters</c>: one page, newest first.</summary>
/// <param name="Items">The dead letters.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; absent on the last page.</param>
public sealed record DeadLetterListResponse(IReadOnlyList<DeadLetterResponse> Items, string? NextCursor);

/// <summary>What a bulk operation did to one dead letter.</summary>
/// <param name="Id">The dead letter's id.</param>
/// <param name="MessageId">Its message.</param>
/// <param name="Outcome"><c>replayed</c>, <c>purged</c>, <c>not_replayable</c> (left as it is), or <c>gone</c> (a concurrent replay or purge took it first).</param>
public sealed record DeadLetterBulkItem(string Id, string MessageId, string Outcome);

/// <summary>The answer of <c>POST /api/v1/dead-letters/replay</c> and <c>…/purge</c>.</summary>
/// <param name="Done">How many were replayed (or purged) by this call.</param>
/// <param name="Items">Every dead letter the call looked at, newest first, with what happened to it.</param>
/// <param name="More">True when more dead letters match the filter than <c>limit</c>: call again.</param>
public sealed record DeadLetterBulkResponse(int Done, IReadOnlyList<DeadLetterBulkItem> Items, bool More);

/// <summary>One item of <c>POST /api/v1/messages/batch</c>.</summary>
public sealed class BatchItemDto
{
    /// <summary>This message's idempotency key (the Idempotency-Key header of a single send), optional.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>The message, as the body of <c>POST /api/v1/messages</c>.</summary>
    public SendMessageRequest? Message { get; set; }
}

/// <summary>The body of <c>POST /api/v1/messages/batch</c>: 1 to 500 messages.</summary>
public sealed class SendBatchRequest
{
    /// <summary>The messages.</summary>
    public List<BatchItemDto?>? Messages { get; set; }
}

/// <summary>The result of one batch item.</summary>
/// <param name="Index">The item's position in <c>messages</c>.</param>
/// <param name="Status">The HTTP status a single send would have had: 202, 400, 403, 413, 422 or 503.</param>
/// <param name="Id">For 202: the message id.</param>
/// <param name="State">For 202: <c>queued</c> or <c>scheduled</c>.</param>
/// <param name="Errors">For 400, 403, 413, 422: the item's field errors (fields prefixed <c>messages[i]</c>).</param>
/// <param name="Detail">For 503: what failed.</param>
public sealed record BatchItemResult(int Index, int Status, string? Id, string? State, IReadOnlyList<FieldError>? Errors, string? Detail);

/// <summary>The answer of <c>POST /api/v1/messages/batch</c>.</summary>
/// <param name="Accepted">How many items were accepted (202).</param>
/// <param name="Refused">How many were not.</param>
/// <param name="Results">One result per item, in order.</param>
public sealed record SendBatchResponse(int Accepted, int Refused, IReadOnlyList<BatchItemResult> Results);

/// <summary>One field error inside a 400 problem.</summary>
public sealed record FieldError(string Field, string Code, string Message);

/// <summary>Reads an address from a string or an object.</summary>
public sealed class AddressDtoConverter : JsonConverter<AddressDto>
{
    /// <inheritdoc />
    public override AddressDto? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return new AddressDto { Address = reader.GetString() };
            case JsonTokenType.StartObject:
                var dto = new AddressDto();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    if (reader.TokenType != JsonTokenType.PropertyName)
                    {
                        throw new JsonException("Expected a property name.");
                    }

                    var name = reader.GetString();
                    reader.Read();
                    if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                    {
                        throw new JsonException($"'{name}' must be a string.");
                    }

                    var value = reader.GetString();
                    if (string.Equals(name, "address", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "email", StringComparison.OrdinalIgnoreCase))
                    {
                        dto.Address = value;
                    }
                    else if (string.Equals(name, "name", StringComparison.OrdinalIgnoreCase))
                    {
                        dto.Name = value;
                    }
                    else
                    {
                        throw new JsonException($"Unknown address property '{name}' (use address and name).");
                    }
                }

                return dto;
            default:
                throw new JsonException("An address is a string or an object {address, name}.");
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, AddressDto value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartObject();
        writer.WriteString("address", value.Address);
        if (value.Name is not null)
        {
            writer.WriteString("name", value.Name);
        }

        writer.WriteEndObject();
    }
}

/// <summary>
/// Reads an ISO 8601 date-time that names its offset (<c>Z</c> or <c>±hh:mm</c>). Without one, System.Text.Json would
/// read it as the server's local time, so a scheduled message would move with the server's time zone.
/// </summary>
public sealed class OffsetRequiredDateTimeConverter : JsonConverter<DateTimeOffset?>
{
    /// <inheritdoc />
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.HasValueSequence || !reader.TryGetDateTimeOffset(out var value))
        {
            throw new JsonException("A date-time is an ISO 8601 string such as 2026-12-01T09:00:00Z.");
        }

        if (!HasOffset(reader.ValueSpan))
        {
            throw new OffsetRequiredException();
        }

        return value;
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is { } v)
        {
            writer.WriteStringValue(v);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    // ISO 8601: the offset follows the time, after the 'T': "Z", "+hh:mm" or "-hh:mm".
    private static bool HasOffset(ReadOnlySpan<byte> text)
    {
        var time = text.IndexOfAny((byte)'T', (byte)'t');
        if (time < 0)
        {
            return false;
        }

        var tail = text[(time + 1)..];
        return tail.EndsWith("Z"u8) || tail.EndsWith("z"u8) || tail.IndexOfAny((byte)'+', (byte)'-') >= 0;
    }
}

/// <summary>A date-time without an offset: refused with <c>offset_required</c>.</summary>
public sealed class OffsetRequiredException : JsonException
{
    /// <summary>Creates the exception.</summary>
    public OffsetRequiredException() : base("A date-time needs a UTC offset or Z (2026-12-01T09:00:00Z, 2026-12-01T10:00:00+01:00); without one its time zone is unknown.") { }

    /// <summary>Creates the exception.</summary>
    public OffsetRequiredException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public OffsetRequiredException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>The JSON settings of the API: camelCase, unknown properties refused (a typo is an error, not a silent drop).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(SendBatchRequest))]
[JsonSerializable(typeof(SendBatchResponse))]
[JsonSerializable(typeof(AcceptedMessageResponse))]
[JsonSerializable(typeof(MessageStatusResponse))]
[JsonSerializable(typeof(MessageListResponse))]
[JsonSerializable(typeof(DeadLetterResponse))]
[JsonSerializable(typeof(DeadLetterListResponse))]
[JsonSerializable(typeof(DeadLetterBulkResponse))]
[JsonSerializable(typeof(FieldError))]
[JsonSerializable(typeof(List<FieldError>))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
