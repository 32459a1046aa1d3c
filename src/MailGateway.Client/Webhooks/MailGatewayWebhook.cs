using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace MailGateway.Client.Webhooks;

/// <summary>A verified webhook delivery: its id, its signing time and the raw body that was signed.</summary>
public class MailGatewayWebhook
{
    /// <summary>Creates a verified webhook (done by <see cref="WebhookVerifier"/>).</summary>
    public MailGatewayWebhook(string id, DateTimeOffset timestamp, ReadOnlyMemory<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        Id = id;
        Timestamp = timestamp;
        Body = body;
    }

    /// <summary>The <c>webhook-id</c>: the same on every retry of one event, so receivers can de-duplicate on it.</summary>
    public string Id { get; }

    /// <summary>The <c>webhook-timestamp</c>.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The body exactly as received and signed.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The body as UTF-8 text.</summary>
    public string GetBodyText() => Encoding.UTF8.GetString(Body.Span);

    /// <summary>The body deserialized with source-generated metadata (trimming- and AOT-safe).</summary>
    public T? GetPayload<T>(JsonTypeInfo<T> typeInfo) => JsonSerializer.Deserialize(Body.Span, typeInfo);

    /// <summary>The body deserialized by reflection (web defaults: camelCase, case-insensitive).</summary>
    [RequiresUnreferencedCode("Reflection-based JSON; use the JsonTypeInfo overload when trimming.")]
    [RequiresDynamicCode("Reflection-based JSON; use the JsonTypeInfo overload for native AOT.")]
    public T? GetPayload<T>(JsonSerializerOptions? options = null) => JsonSerializer.Deserialize<T>(Body.Span, options ?? JsonSerializerOptions.Web);
}

/// <summary>A verified webhook with its body deserialized.</summary>
/// <typeparam name="TPayload">The payload type.</typeparam>
public sealed class MailGatewayWebhook<TPayload> : MailGatewayWebhook
{
    /// <summary>Creates the typed webhook from a verified one.</summary>
    public MailGatewayWebhook(MailGatewayWebhook webhook, TPayload payload)
        : base((webhook ?? throw new ArgumentNullException(nameof(webhook))).Id, webhook.Timestamp, webhook.Body) => Payload = payload;

    /// <summary>The deserialized body.</summary>
    public TPayload Payload { get; }
}
