using System.Text.Json;

namespace MailGateway.Client;

/// <summary>One message of <see cref="MessagesClient.SendBatchAsync(IReadOnlyList{BatchMessage}, CancellationToken)"/>, with its own idempotency key.</summary>
public sealed class BatchMessage
{
    /// <summary>The message.</summary>
    public required EmailMessage Message { get; init; }

    /// <summary>
    /// Its <c>idempotencyKey</c> (1-255 printable ASCII characters); null: one is generated. Either way the same key goes
    /// with every retry of the batch, so a retried batch does not send a message twice.
    /// </summary>
    public string? IdempotencyKey { get; init; }
}

/// <summary>The answer of <c>POST /api/v1/messages/batch</c>: one result per message, in order.</summary>
public sealed class BatchResult
{
    /// <summary>How many messages were accepted (202).</summary>
    public int Accepted { get; init; }

    /// <summary>How many were not.</summary>
    public int Refused { get; init; }

    /// <summary>One result per message, in the order sent.</summary>
    public IReadOnlyList<BatchItemResult> Results { get => field ?? []; init; }
}

/// <summary>The result of one message of a batch.</summary>
public sealed class BatchItemResult
{
    /// <summary>The message's position in the batch, from 0.</summary>
    public int Index { get; init; }

    /// <summary>The status a single send would have had: 202, or 400, 403, 413, 422, 503.</summary>
    public int Status { get; init; }

    /// <summary>True for 202: stored durably and queued.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsAccepted => Status == 202;

    /// <summary>For 202: the message id.</summary>
    public string? Id { get; init; }

    /// <summary>For 202: <see cref="MessageStatus.Queued"/> or <see cref="MessageStatus.Scheduled"/>.</summary>
    public MessageStatus? State { get; init; }

    /// <summary>For a refusal: the field errors (fields prefixed <c>messages[i]</c>).</summary>
    public IReadOnlyList<FieldError> Errors { get => field ?? []; init; }

    /// <summary>For 503: what failed.</summary>
    public string? Detail { get; init; }

    /// <summary>The idempotency key this message was sent with (not part of the JSON answer).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string IdempotencyKey { get; internal set; } = "";
}

/// <summary>Writes the body of <c>POST /api/v1/messages/batch</c>.</summary>
internal static class BatchJson
{
    public static byte[] Serialize(IReadOnlyList<BatchMessage> messages, IReadOnlyList<string> keys)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("messages");
            for (var i = 0; i < messages.Count; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("idempotencyKey", keys[i]);
                writer.WritePropertyName("message");
                writer.WriteRawValue(EmailMessageJson.Serialize(messages[i].Message), skipInputValidation: true);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
