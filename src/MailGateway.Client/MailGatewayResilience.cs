using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace MailGateway.Client;

/// <summary>
/// The retry pipeline of the client, one definition for both ways of building it (IHttpClientFactory's
/// <c>AddResilienceHandler</c> and the client's own <see cref="HttpClient"/>): retry outside, attempt timeout inside.
/// </summary>
internal static class MailGatewayResilience
{
    /// <summary>Requests that must not be retried (health probes answer for "now").</summary>
    public static readonly HttpRequestOptionsKey<bool> NoRetry = new("MailGateway.Client.NoRetry");

    public const string PipelineName = "MailGateway";

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, MailGatewayClientOptions options)
    {
        var time = builder.TimeProvider ?? TimeProvider.System;
        if (options.MaxRetries > 0)
        {
            var maxDelay = options.MaxRetryDelay;
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                Name = "MailGateway.Retry",
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                MaxDelay = maxDelay,
                ShouldRetryAfterHeader = false,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context, maxDelay, time)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } response ? RetryAfter(response, time) : null),
            });
        }

        builder.AddTimeout(options.AttemptTimeout);
    }

    /// <summary>Builds the pipeline as a handler for a client that is not made by IHttpClientFactory.</summary>
    public static ResilienceHandler CreateHandler(MailGatewayClientOptions options, HttpMessageHandler inner)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        Configure(builder, options);
        return new ResilienceHandler(builder.Build()) { InnerHandler = inner };
    }

    /// <summary>Statuses after which an attempt may succeed: the gateway (or a proxy in front) was briefly unable to answer.</summary>
    public static bool IsTransient(HttpStatusCode status) => status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
        or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    /// <summary>The answer's <c>Retry-After</c> (seconds or an HTTP date), never negative; null when it has none.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var delay = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - time.GetUtcNow(),
            _ => (TimeSpan?)null,
        };
        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
    }

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context, TimeSpan maxDelay, TimeProvider time)
    {
        if (context.GetRequestMessage()?.Options.TryGetValue(NoRetry, out var noRetry) == true && noRetry)
        {
            return false;
        }

        if (outcome.Exception is { } exception)
        {
            // A cancelled caller is not retried; a network error or an attempt timeout is.
            return exception is HttpRequestException or TimeoutRejectedException && !context.CancellationToken.IsCancellationRequested;
        }

        var response = outcome.Result!;

        // A Retry-After longer than the client is configured to wait goes back to the caller (MailGatewayException.RetryAfter).
        return IsTransient(response.StatusCode) && !(RetryAfter(response, time) > maxDelay);
    }
}
