using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using MailGateway.Core.Events;
using MailGateway.Core.Webhooks;
using Microsoft.Extensions.Options;

namespace MailGateway.Webhooks;

/// <summary>How one webhook request ended.</summary>
/// <param name="Delivered">True for a 2xx within the timeout.</param>
/// <param name="Status">The status code answered, or null without an answer.</param>
/// <param name="Error">Why it did not count, or null.</param>
public sealed record WebhookSendResult(bool Delivered, int? Status, string? Error);

/// <summary>Where and how one endpoint's deliveries go.</summary>
/// <param name="Name">The endpoint's name (configured) or id (created through the API): the key of its delivery state.</param>
/// <param name="Url">The receiver.</param>
/// <param name="Owner">The API key whose messages' events it receives, or null for every key's.</param>
/// <param name="EventTypes">The types sent (empty: all).</param>
/// <param name="Secrets">The signing secrets: one signature each in <c>webhook-signature</c> (two during a rotation's grace period).</param>
public sealed record WebhookTarget(string Name, string Url, string? Owner, IReadOnlyList<string> EventTypes, IReadOnlyList<string> Secrets)
{
    /// <summary>The target of a configured endpoint.</summary>
    public static WebhookTarget From(string name, WebhookEndpointOptions endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return new(name, endpoint.Url, string.IsNullOrEmpty(endpoint.KeyId) ? null : endpoint.KeyId, endpoint.EventTypes, [endpoint.Secret]);
    }

    /// <summary>The target of an endpoint created through the API, with the secrets that sign at <paramref name="now"/>.</summary>
    public static WebhookTarget From(WebhookDefinition definition, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return new(definition.Id, definition.Url, definition.Owner, definition.EventTypes, definition.SigningSecrets(now));
    }
}

/// <summary>
/// Sends one signed webhook: a POST of the event's JSON with <c>webhook-id</c> (the event id, the same on every retry),
/// <c>webhook-timestamp</c> and <c>webhook-signature</c>, through the named client <see cref="ClientName"/> (no
/// redirects, the SSRF check on every connection, the timeout of the resilience pipeline), reading at most
/// <see cref="WebhookOptions.MaxResponseBytes"/> of the answer.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients, IOptions<WebhookOptions> options, TimeProvider time)
{
    /// <summary>The name of the webhook <see cref="HttpClient"/>.</summary>
    public const string ClientName = "MailGateway.Webhooks";

    /// <summary>Sends <paramref name="e"/> to the configured <paramref name="endpoint"/>.</summary>
    public Task<WebhookSendResult> SendAsync(WebhookEndpointOptions endpoint, MessageEvent e, CancellationToken cancellationToken) =>
        SendAsync(WebhookTarget.From("", endpoint), e, cancellationToken);

    /// <summary>Sends <paramref name="e"/> to <paramref name="target"/>, signed with each of its secrets.</summary>
    public async Task<WebhookSendResult> SendAsync(WebhookTarget target, MessageEvent e, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(e);
        var keys = new List<byte[]>(target.Secrets.Count);
        foreach (var secret in target.Secrets)
        {
            if (!WebhookSignature.TryParseSecret(secret, out var key))
            {
                return new WebhookSendResult(false, null, "The endpoint's secret is not a whsec_ secret.");
            }

            keys.Add(key);
        }

        var body = MessageEventJson.WebhookBody(e);
        var now = time.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation("webhook-id", e.Id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        // Standard Webhooks: several signatures are space-delimited; a receiver accepts the delivery when one verifies.
        request.Headers.TryAddWithoutValidation("webhook-signature", string.Join(' ', keys.Select(k => WebhookSignature.Sign(k, e.Id, now, body))));
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await DrainAsync(response, options.Value.MaxResponseBytes, cancellationToken);
            var status = (int)response.StatusCode;
            return status is >= 200 and < 300
                ? new WebhookSendResult(true, status, null)
                : new WebhookSendResult(false, status, status is >= 300 and < 400
                    ? $"Answered {status} (a redirect, not followed)."
                    : $"Answered {status}.");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException or Polly.Timeout.TimeoutRejectedException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new WebhookSendResult(false, null, Describe(ex));
        }
    }

    /// <summary>
    /// The connection step of the webhook client: resolves the host and connects only to addresses the policy allows,
    /// so a name that resolves (or re-resolves) to a private address is refused too.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, WebhookOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(a => WebhookAddressPolicy.Allows(a, options)).ToList();
        if (allowed.Count == 0)
        {
            throw new HttpRequestException($"The webhook host '{host}' resolves only to refused addresses (loopback, private, link-local or metadata).");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync([.. allowed], context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task DrainAsync(HttpResponseMessage response, int max, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[Math.Min(Math.Max(max, 1), 16 * 1024)];
        var total = 0;
        while (total < max)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, max - total)), cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }
    }

    private static string Describe(Exception ex)
    {
        var message = ex is OperationCanceledException or Polly.Timeout.TimeoutRejectedException or TimeoutException
            ? "No answer within the timeout."
            : ex.InnerException is { } inner ? ex.Message + " " + inner.Message : ex.Message;
        return message.Length > 500 ? message[..500] : message;
    }
}
