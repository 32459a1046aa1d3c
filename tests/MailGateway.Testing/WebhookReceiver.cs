using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace MailGateway.Testing;

/// <summary>
/// A real webhook receiver on Kestrel (127.0.0.1): <c>POST /hook</c> verifies every delivery with the independent
/// StandardWebhooks package and keeps the verified ones; <c>/redirect</c> answers 307 to <c>/hook</c>.
/// <see cref="Answer"/> decides the status code of <c>/hook</c> (200 unless set). The secrets it trusts can change
/// (<see cref="Trust"/>): a delivery is kept when one of them verifies it, and <see cref="Signatures"/> records which.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private volatile string[] _secrets;

    private WebhookReceiver(WebApplication app, string secret)
    {
        _app = app;
        Secret = secret;
        _secrets = secret.Length == 0 ? [] : [secret];
    }

    public string Secret { get; }

    /// <summary>Verifies from now on with each of <paramref name="secrets"/> (a secret the gateway made, known after its 201).</summary>
    public void Trust(params string[] secrets) => _secrets = secrets;

    /// <summary>Per kept delivery: its webhook-id and the trusted secrets that verified it.</summary>
    public ConcurrentQueue<(string Id, string[] VerifiedBy)> Signatures { get; } = new();

    /// <summary>The webhook-id of every verified request, before it is answered (held ones too).</summary>
    public ConcurrentQueue<string> Seen { get; } = new();

    /// <summary>The number of signatures in the <c>webhook-signature</c> header of each request.</summary>
    public ConcurrentQueue<int> SignatureCounts { get; } = new();

    /// <summary>Called with the webhook-id of each verified request to <c>/hook</c> before it is answered (e.g. to hold it); null: answer at once.</summary>
    public Func<string, CancellationToken, Task>? BeforeAnswer { get; set; }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The status code <c>/hook</c> answers; a delivery that is not 2xx is counted but not kept.</summary>
    public Func<int> Answer { get; set; } = () => 200;

    /// <summary>Every verified delivery answered with a 2xx: (webhook-id, body).</summary>
    public ConcurrentQueue<(string Id, JsonElement Body)> Received { get; } = new();

    /// <summary>Every request to <c>/hook</c>, whatever it was answered.</summary>
    public int Hits => _hits;

    public int RedirectHits => _redirectHits;

    /// <summary>Deliveries whose signature did not verify.</summary>
    public int Forged => _forged;

    private int _hits;
    private int _redirectHits;
    private int _forged;

    /// <summary>A receiver that trusts no secret yet (<see cref="Trust"/>).</summary>
    public static Task<WebhookReceiver> StartAsync(int port = 0) => StartAsync("", port);

    public static async Task<WebhookReceiver> StartAsync(string secret, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, secret);
        app.MapPost("/hook", async (HttpContext context) =>
        {
            Interlocked.Increment(ref receiver._hits);
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            // Each signature of the header on its own: StandardWebhooks 1.1.2's Verify checks only the first of several
            // space-delimited signatures (its loop ends before the last one), and during a rotation there are two.
            var signatures = context.Request.Headers["webhook-signature"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            receiver.SignatureCounts.Enqueue(signatures.Length);
            var verifiedBy = receiver._secrets.Where(secret => signatures.Any(signature =>
            {
                var headers = new HeaderDictionary();
                foreach (var (name, value) in context.Request.Headers)
                {
                    headers[name] = value;
                }

                headers["webhook-signature"] = signature;
                try
                {
                    new StandardWebhook(secret).Verify(body, headers);
                    return true;
                }
                catch (WebhookVerificationException)
                {
                    return false;
                }
            })).ToArray();
            if (verifiedBy.Length == 0)
            {
                Interlocked.Increment(ref receiver._forged);
                return Results.StatusCode(400);
            }

            var id = context.Request.Headers["webhook-id"].ToString();
            receiver.Seen.Enqueue(id);
            if (receiver.BeforeAnswer is { } hold)
            {
                try
                {
                    await hold(id, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The sender is gone (killed): there is no one to answer.
                    return Results.Empty;
                }
            }

            var status = receiver.Answer();
            if (status is >= 200 and < 300)
            {
                receiver.Signatures.Enqueue((id, verifiedBy));
                receiver.Received.Enqueue((id, JsonDocument.Parse(body).RootElement.Clone()));
            }

            return Results.StatusCode(status);
        });
        app.MapPost("/redirect", () =>
        {
            Interlocked.Increment(ref receiver._redirectHits);
            return Results.Redirect("/hook", permanent: false, preserveMethod: true);
        });
        await app.StartAsync();
        receiver.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        return receiver;
    }

    /// <summary>The (message id, type, recipient) of every kept delivery.</summary>
    public IReadOnlyList<(string MessageId, string Type, string? Recipient)> Events() =>
        [.. Received.Select(r => r.Body.GetProperty("data")).Select(d => (
            d.GetProperty("messageId").GetString()!,
            d.GetProperty("type").GetString()!,
            d.TryGetProperty("recipient", out var recipient) ? recipient.GetString() : null))];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
