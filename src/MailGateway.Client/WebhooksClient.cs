using System.Text.Json;

namespace MailGateway.Client;

/// <summary>A webhook endpoint and its delivery state (<c>/api/v1/webhooks</c>).</summary>
public sealed class WebhookEndpoint
{
    /// <summary><c>wh_…</c> for an endpoint created through the API; the name of a configured one.</summary>
    public string Id { get; init; } = "";

    /// <summary>The key of its delivery state.</summary>
    public string Name { get; init; } = "";

    /// <summary><c>api</c> or <c>configuration</c> (read-only through the API).</summary>
    public string Source { get; init; } = "";

    /// <summary>The API key whose messages' events it receives; null for a configured endpoint of every key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The receiver.</summary>
    public string Url { get; init; } = "";

    /// <summary>The event types sent (empty: all).</summary>
    public IReadOnlyList<string> EventTypes { get => field ?? []; init; }

    /// <summary>False while disabled through the API or once its retry schedule ran out (<see cref="DisabledReason"/>).</summary>
    public bool Enabled { get; init; }

    /// <summary>Why nothing is sent, when <see cref="Enabled"/> is false.</summary>
    public string? DisabledReason { get; init; }

    /// <summary>The id of the last event it acknowledged.</summary>
    public string? Cursor { get; init; }

    /// <summary>Failed attempts of the next event, in a row.</summary>
    public int Failures { get; init; }

    /// <summary>When the first of those failed.</summary>
    public DateTimeOffset? FailingSince { get; init; }

    /// <summary>When the next attempt is due.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>The last status code the receiver answered.</summary>
    public int? LastStatus { get; init; }

    /// <summary>The last failure.</summary>
    public string? LastError { get; init; }

    /// <summary>When it was created through the API.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>After a rotation: until then deliveries carry the previous secret's signature too.</summary>
    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }

    /// <summary>The signing secret (<c>whsec_…</c>): only in the answer of <see cref="WebhooksClient.CreateAsync"/>.</summary>
    public string? Secret { get; init; }
}

/// <summary>A webhook endpoint to create.</summary>
public sealed class CreateWebhook
{
    /// <summary>The receiver: <c>https</c> to a public address (<c>http</c> only to loopback on a development gateway).</summary>
    public required Uri Url { get; init; }

    /// <summary>The event types to send (<see cref="MessageEventTypes"/>); empty: all.</summary>
    public IReadOnlyList<string> EventTypes { get; init; } = [];

    /// <summary>False creates it disabled.</summary>
    public bool Enabled { get; init; } = true;
}

/// <summary>The changes of <see cref="WebhooksClient.UpdateAsync"/>; null leaves a field as it is.</summary>
public sealed class UpdateWebhook
{
    /// <summary>A new receiver.</summary>
    public Uri? Url { get; init; }

    /// <summary>New event types (empty: all).</summary>
    public IReadOnlyList<string>? EventTypes { get; init; }

    /// <summary>False pauses it; true resumes it at its cursor and clears its failures.</summary>
    public bool? Enabled { get; init; }
}

/// <summary>A rotated secret (<see cref="WebhooksClient.RotateSecretAsync"/>).</summary>
public sealed class WebhookSecret
{
    /// <summary>The endpoint.</summary>
    public string Id { get; init; } = "";

    /// <summary>The new secret, shown this once.</summary>
    public string Secret { get; init; } = "";

    /// <summary>Until then deliveries are signed with the previous secret too (null: not at all).</summary>
    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }
}

/// <summary>The body of <c>GET /api/v1/webhooks</c>.</summary>
internal sealed class WebhookList
{
    public IReadOnlyList<WebhookEndpoint> Webhooks { get => field ?? []; init; }
}

/// <summary>
/// Webhook endpoints of this key (<c>/api/v1/webhooks</c>; both hosts). Listing and reading need <c>read</c>;
/// creating, changing, rotating and deleting need <c>send</c> (or <c>admin</c> for another key's). Create and
/// rotate-secret are not retried (their answer holds the one copy of a secret, and a repeat would make another).
/// </summary>
public class WebhooksClient
{
    private const string Path = "api/v1/webhooks";
    private readonly GatewayConnection _connection = null!;

    internal WebhooksClient(GatewayConnection connection) => _connection = connection;

    /// <summary>For mocking in tests of your own code: every public member is virtual.</summary>
    protected WebhooksClient()
    {
    }

    /// <summary><c>POST /api/v1/webhooks</c>: the new endpoint with its <see cref="WebhookEndpoint.Secret"/> (keep it: it is shown once).</summary>
    /// <exception cref="MailGatewayException">400 (<c>invalid_url</c>, <c>invalid_type</c>), 409 <c>too_many_webhooks</c>, 401, 403.</exception>
    public virtual Task<WebhookEndpoint> CreateAsync(CreateWebhook webhook, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(webhook);
        ArgumentNullException.ThrowIfNull(webhook.Url);
        return _connection.SendAsync(HttpMethod.Post, Path, GatewayConnection.Json(Body(webhook.Url, webhook.EventTypes, webhook.Enabled)),
            ClientJsonContext.Default.WebhookEndpoint, null, cancellationToken, retry: false);
    }

    /// <summary><c>GET /api/v1/webhooks</c>: this key's endpoints (an <c>admin</c> key: every one), never a secret.</summary>
    public virtual async Task<IReadOnlyList<WebhookEndpoint>> ListAsync(CancellationToken cancellationToken = default) =>
        (await _connection.SendAsync(HttpMethod.Get, Path, null, ClientJsonContext.Default.WebhookList, null, cancellationToken)).Webhooks;

    /// <summary><c>GET /api/v1/webhooks/{id}</c>: one endpoint and its delivery state.</summary>
    /// <exception cref="MailGatewayException">404 for an unknown id or another key's endpoint.</exception>
    public virtual Task<WebhookEndpoint> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return _connection.SendAsync(HttpMethod.Get, $"{Path}/{Uri.EscapeDataString(id)}", null, ClientJsonContext.Default.WebhookEndpoint, null, cancellationToken);
    }

    /// <summary><c>PATCH /api/v1/webhooks/{id}</c>: change the URL, the event types or whether it is enabled.</summary>
    /// <exception cref="MailGatewayException">400, 404, 409 <c>configured_webhook</c>.</exception>
    public virtual Task<WebhookEndpoint> UpdateAsync(string id, UpdateWebhook changes, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(changes);
        return _connection.SendAsync(HttpMethod.Patch, $"{Path}/{Uri.EscapeDataString(id)}", GatewayConnection.Json(Body(changes.Url, changes.EventTypes, changes.Enabled)),
            ClientJsonContext.Default.WebhookEndpoint, null, cancellationToken);
    }

    /// <summary><c>DELETE /api/v1/webhooks/{id}</c>.</summary>
    /// <exception cref="MailGatewayException">404, 409 <c>configured_webhook</c>.</exception>
    public virtual Task DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return _connection.SendAsync(HttpMethod.Delete, $"{Path}/{Uri.EscapeDataString(id)}", cancellationToken);
    }

    /// <summary>
    /// <c>POST /api/v1/webhooks/{id}/rotate-secret</c>: a new secret, shown once; until
    /// <see cref="WebhookSecret.PreviousSecretExpiresAt"/> deliveries carry both signatures (verify with both secrets:
    /// <c>new WebhookVerifier(newSecret, oldSecret)</c>).
    /// </summary>
    /// <exception cref="MailGatewayException">404, 409 <c>configured_webhook</c>.</exception>
    public virtual Task<WebhookSecret> RotateSecretAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return _connection.SendAsync(HttpMethod.Post, $"{Path}/{Uri.EscapeDataString(id)}/rotate-secret", null, ClientJsonContext.Default.WebhookSecret, null, cancellationToken, retry: false);
    }

    private static byte[] Body(Uri? url, IReadOnlyList<string>? types, bool? enabled)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (url is not null)
            {
                writer.WriteString("url", url.AbsoluteUri);
            }

            if (types is not null)
            {
                writer.WriteStartArray("eventTypes");
                foreach (var type in types)
                {
                    writer.WriteStringValue(type);
                }

                writer.WriteEndArray();
            }

            if (enabled is { } value)
            {
                writer.WriteBoolean("enabled", value);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
