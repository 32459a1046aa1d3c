using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using MailGateway.Client.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MailGateway.Client.AspNetCore;

/// <summary>Verifying MailGateway webhooks in ASP.NET Core: one call in an endpoint, or a whole endpoint.</summary>
public static class MailGatewayWebhookExtensions
{
    /// <summary>The largest webhook body read (1 MiB); a larger one is refused before it is read (<see cref="WebhookVerificationFailure.BodyTooLarge"/>).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>
    /// Reads the request body (at most <see cref="MaxBodyBytes"/>) and verifies its Standard Webhooks signature with
    /// <paramref name="secret"/> (<c>whsec_…</c>) and the default 5-minute tolerance.
    /// </summary>
    /// <returns>The verified webhook.</returns>
    /// <exception cref="WebhookVerificationException">The webhook is not genuine, too old, or too large.</exception>
    public static Task<MailGatewayWebhook> VerifyMailGatewayWebhookAsync(this HttpRequest request, string secret, CancellationToken cancellationToken = default) =>
        request.VerifyMailGatewayWebhookAsync(new WebhookVerifier(secret), cancellationToken);

    /// <summary>Reads the request body and verifies it with <paramref name="verifier"/> (several secrets, another tolerance).</summary>
    /// <returns>The verified webhook.</returns>
    /// <exception cref="WebhookVerificationException">The webhook is not genuine, too old, or too large.</exception>
    public static async Task<MailGatewayWebhook> VerifyMailGatewayWebhookAsync(this HttpRequest request, WebhookVerifier verifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(verifier);
        var token = cancellationToken.CanBeCanceled ? cancellationToken : request.HttpContext.RequestAborted;
        var body = await ReadBodyAsync(request, token);
        var headers = request.Headers;
        return verifier.Verify(headers[WebhookVerifier.IdHeader].ToString(), headers[WebhookVerifier.TimestampHeader].ToString(),
            headers[WebhookVerifier.SignatureHeader].ToString(), body);
    }

    /// <summary>Verifies the webhook, then deserializes its body with source-generated metadata.</summary>
    /// <returns>The verified webhook with its payload.</returns>
    /// <exception cref="WebhookVerificationException">The webhook is not genuine, too old, or too large.</exception>
    /// <exception cref="JsonException">The verified body is not a <typeparamref name="TPayload"/>.</exception>
    public static async Task<MailGatewayWebhook<TPayload>> VerifyMailGatewayWebhookAsync<TPayload>(this HttpRequest request, WebhookVerifier verifier, JsonTypeInfo<TPayload> payloadType, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payloadType);
        var webhook = await request.VerifyMailGatewayWebhookAsync(verifier, cancellationToken);
        var payload = webhook.GetPayload(payloadType) ?? throw new JsonException("The webhook body is null.");
        return new MailGatewayWebhook<TPayload>(webhook, payload);
    }

    /// <summary>
    /// Maps <c>POST {pattern}</c> as a MailGateway webhook receiver: a genuine delivery is handed to
    /// <paramref name="handler"/> and answered 204; a refused one is answered 401 (413 when too large) as
    /// problem+json, and the handler never sees it. An exception from the handler answers 500, so the sender retries.
    /// </summary>
    /// <returns>The endpoint's builder (add authorization, rate limiting, …).</returns>
    public static RouteHandlerBuilder MapMailGatewayWebhook(this IEndpointRouteBuilder endpoints, string pattern, WebhookVerifier verifier, Func<MailGatewayWebhook, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(handler);
        return endpoints.MapPost(pattern, async (HttpContext context) =>
        {
            MailGatewayWebhook webhook;
            try
            {
                webhook = await context.Request.VerifyMailGatewayWebhookAsync(verifier, context.RequestAborted);
            }
            catch (WebhookVerificationException ex)
            {
                var status = ex.Failure == WebhookVerificationFailure.BodyTooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status401Unauthorized;
                return Results.Problem(statusCode: status, title: "Webhook refused", detail: ex.Message);
            }

            await handler(webhook, context.RequestAborted);
            return Results.NoContent();
        });
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new WebhookVerificationException(WebhookVerificationFailure.BodyTooLarge);
        }

        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 4096);
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw new WebhookVerificationException(WebhookVerificationFailure.BodyTooLarge);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
