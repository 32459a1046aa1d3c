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

namespace MailGateway.Standalone.Tests;

/// <summary>
/// A real webhook receiver on Kestrel (127.0.0.1): <c>POST /hook</c> verifies every delivery with the independent
/// StandardWebhooks package and keeps the verified ones; <c>/redirect</c> answers 307 to <c>/hook</c>.
/// <see cref="Answer"/> decides the status code of <c>/hook</c> (200 unless set).
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app, string secret)
    {
        _app = app;
        Secret = secret;
    }

    public string Secret { get; }

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

    public static async Task<WebhookReceiver> StartAsync(string secret, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, secret);
        var verifier = new StandardWebhook(secret);
        app.MapPost("/hook", async (HttpContext context) =>
        {
            Interlocked.Increment(ref receiver._hits);
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            try
            {
                verifier.Verify(body, context.Request.Headers);
            }
            catch (WebhookVerificationException)
            {
                Interlocked.Increment(ref receiver._forged);
                return Results.StatusCode(400);
            }

            var status = receiver.Answer();
            if (status is >= 200 and < 300)
            {
                receiver.Received.Enqueue((context.Request.Headers["webhook-id"].ToString(), JsonDocument.Parse(body).RootElement.Clone()));
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
