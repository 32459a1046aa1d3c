using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailGateway.Core.Events;

/// <summary>An event as the API's feed and the webhooks show it (the one wire format of both).</summary>
/// <param name="Id">The event id (<c>evt_…</c>); also the feed's cursor and the webhook's <c>webhook-id</c>.</param>
/// <param name="Type">The type (<see cref="MessageEventTypes"/>).</param>
/// <param name="Time">When the change happened.</param>
/// <param name="MessageId">The message.</param>
/// <param name="Recipient">The recipient, for a recipient's event.</param>
/// <param name="Attempt">The attempt number, when an attempt caused it.</param>
/// <param name="Port">The relay port of that attempt.</param>
/// <param name="Reply">The SMTP reply or reason.</param>
/// <param name="Tags">The message's tags.</param>
/// <param name="Metadata">The message's metadata.</param>
public sealed record MessageEventResponse(
    string Id,
    string Type,
    DateTimeOffset Time,
    string MessageId,
    string? Recipient,
    int? Attempt,
    int? Port,
    string? Reply,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The wire form of <paramref name="e"/>.</summary>
    public static MessageEventResponse From(MessageEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(e.Id, e.Type, e.Time, e.MessageId, e.Recipient, e.Attempt, e.Port, e.Reply, e.Tags, e.Metadata);
    }
}

/// <summary>The body of a webhook, as Standard Webhooks recommends: <c>type</c>, <c>timestamp</c> and the event as <c>data</c>.</summary>
/// <param name="Type">The event type.</param>
/// <param name="Timestamp">The event's time.</param>
/// <param name="Data">The event.</param>
public sealed record WebhookPayload(string Type, DateTimeOffset Timestamp, MessageEventResponse Data);

/// <summary>The serializer of the event wire format (web defaults, nulls omitted).</summary>
public static class MessageEventJson
{
    /// <summary>The webhook body of <paramref name="e"/>, UTF-8.</summary>
    public static byte[] WebhookBody(MessageEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return JsonSerializer.SerializeToUtf8Bytes(new WebhookPayload(e.Type, e.Time, MessageEventResponse.From(e)), MessageEventJsonContext.Default.WebhookPayload);
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookPayload))]
internal sealed partial class MessageEventJsonContext : JsonSerializerContext;
