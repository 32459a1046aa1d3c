using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailGateway.Client.Tests;

/// <summary>What the front does with one request.</summary>
public enum FrontAction
{
    /// <summary>Forward it and pass the gateway's answer back.</summary>
    Forward,

    /// <summary>Forward it (the gateway accepts), then throw the answer away and answer 503 like a load balancer.</summary>
    ForwardThen503,

    /// <summary>Forward it (the gateway accepts), then drop the client's connection without an answer.</summary>
    ForwardThenDrop,

    /// <summary>Do not forward; answer 503 with <c>Retry-After: 30</c>.</summary>
    Refuse503RetryAfter30,

    /// <summary>Do not forward; answer 503 with <c>Retry-After: 3600</c>.</summary>
    Refuse503RetryAfter3600,

    /// <summary>Forward with <c>Content-Type: text/plain</c> instead of the client's.</summary>
    ForwardAsTextPlain,
}

/// <summary>A request as the front saw it.</summary>
internal sealed record FrontRequest(string Method, string Path, string? IdempotencyKey, FrontAction Action);

/// <summary>
/// A real Kestrel reverse proxy on 127.0.0.1:0 in front of the gateway, scripted per request: the network between a
/// client and the gateway, where answers get lost after the gateway has accepted a message.
/// </summary>
internal sealed class Front : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly ConcurrentQueue<FrontAction> _script = new();
    private readonly ConcurrentQueue<FrontRequest> _requests = new();

    private Front(WebApplication app, HttpClient upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<FrontRequest> Requests => [.. _requests];

    /// <summary>The next requests get these actions, in order; after them, every request is forwarded.</summary>
    public void Script(params FrontAction[] actions)
    {
        foreach (var action in actions)
        {
            _script.Enqueue(action);
        }
    }

    public static async Task<Front> StartAsync(Uri gateway)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var front = new Front(app, new HttpClient { BaseAddress = gateway });
        app.Run(front.HandleAsync);
        await app.StartAsync();
        front.BaseAddress = Loopback.AddressOf(app);
        return front;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var action = _script.TryDequeue(out var next) ? next : FrontAction.Forward;
        var request = context.Request;
        _requests.Enqueue(new FrontRequest(request.Method, request.Path + request.QueryString, request.Headers["Idempotency-Key"].FirstOrDefault(), action));
        if (action is FrontAction.Refuse503RetryAfter30 or FrontAction.Refuse503RetryAfter3600)
        {
            await AnswerLikeALoadBalancerAsync(context, action == FrontAction.Refuse503RetryAfter30 ? "30" : "3600");
            return;
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        using var upstream = new HttpRequestMessage(new HttpMethod(request.Method), request.Path + request.QueryString);
        foreach (var name in new[] { "Authorization", "X-Api-Key", "Idempotency-Key", "Accept" })
        {
            if (request.Headers.TryGetValue(name, out var value))
            {
                upstream.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value!);
            }
        }

        if (body.Length > 0 || request.ContentType is not null)
        {
            upstream.Content = new ByteArrayContent(body.ToArray());
            upstream.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(action == FrontAction.ForwardAsTextPlain ? "text/plain" : request.ContentType ?? "application/octet-stream");
        }

        using var answer = await _upstream.SendAsync(upstream, context.RequestAborted);
        var answerBody = await answer.Content.ReadAsByteArrayAsync(context.RequestAborted);
        switch (action)
        {
            case FrontAction.ForwardThen503:
                await AnswerLikeALoadBalancerAsync(context, "0");
                return;
            case FrontAction.ForwardThenDrop:
                context.Abort();
                return;
        }

        context.Response.StatusCode = (int)answer.StatusCode;
        if (answer.Content.Headers.ContentType is { } type)
        {
            context.Response.ContentType = type.ToString();
        }

        if (answer.Headers.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = retryAfter.ToString();
        }

        if (answer.Headers.Location is { } location)
        {
            context.Response.Headers.Location = location.ToString();
        }

        await context.Response.Body.WriteAsync(answerBody, context.RequestAborted);
    }

    private static async Task AnswerLikeALoadBalancerAsync(HttpContext context, string retryAfter)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = retryAfter;
        context.Response.ContentType = "text/html";
        await context.Response.WriteAsync("<html><body>503 Service Unavailable</body></html>", context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        _upstream.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
