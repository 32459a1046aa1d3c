using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Polly.Timeout;

namespace MailGateway.Client;

/// <summary>What every resource client shares: the HTTP client, the options, authentication and the mapping of answers to results or <see cref="MailGatewayException"/>.</summary>
internal sealed class GatewayConnection(Func<HttpClient> httpClient, Func<MailGatewayClientOptions> options)
{
    /// <summary>Error answers are read up to this size; a problem is a few hundred bytes, anything larger is not one of ours.</summary>
    private const int MaxErrorBodyBytes = 64 * 1024;

    private static readonly ProductInfoHeaderValue UserAgent = new("MailGateway.Client", typeof(GatewayConnection).Assembly.GetName().Version?.ToString(3) ?? "0");

    public async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> answer, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(method, path, content, idempotencyKey, retry: true, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ToExceptionAsync(response, idempotencyKey, cancellationToken);
        }

        return await ReadAsync(response, answer, idempotencyKey, cancellationToken);
    }

    /// <summary>A call answered without a body (204); false for a 404, which a retried DELETE can meet after its first try succeeded.</summary>
    public async Task<bool> SendWithoutAnswerAsync(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(method, path, null, null, retry: true, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await ToExceptionAsync(response, null, cancellationToken);
        }

        return true;
    }

    /// <summary>A probe: 200 is healthy, 503 with a problem is an answer too (not ready), anything else throws.</summary>
    public async Task<GatewayHealth> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(HttpMethod.Get, path, null, null, retry: false, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            var answer = await ReadAsync(response, ClientJsonContext.Default.HealthAnswer, null, cancellationToken);
            return new GatewayHealth { IsHealthy = true, Status = answer.Status };
        }

        var failure = await ToExceptionAsync(response, null, cancellationToken);
        if (failure.StatusCode == (int)HttpStatusCode.ServiceUnavailable && failure.Problem is { } problem)
        {
            return new GatewayHealth { IsHealthy = false, Status = problem.Title ?? "", FailingComponents = problem.Errors };
        }

        throw failure;
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string path, HttpContent? content, string? idempotencyKey, bool retry, CancellationToken cancellationToken)
    {
        var settings = options();
        using var request = new HttpRequestMessage(method, new Uri(WithTrailingSlash(settings.BaseAddress!), path)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.ApiKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(UserAgent);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        if (!retry)
        {
            request.Options.Set(MailGatewayResilience.NoRetry, true);
        }

        try
        {
            return await httpClient().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new MailGatewayException($"MailGateway did not answer {method} /{path}: {ex.Message}", idempotencyKey: idempotencyKey, innerException: ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new MailGatewayException($"MailGateway did not answer {method} /{path} in time.", idempotencyKey: idempotencyKey, innerException: ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout of a client passed in by the caller.
            throw new MailGatewayException($"MailGateway did not answer {method} /{path} in time.", idempotencyKey: idempotencyKey, innerException: ex);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> answer, string? idempotencyKey, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await JsonSerializer.DeserializeAsync(stream, answer, cancellationToken)
                ?? throw new JsonException("The answer is null.");
        }
        catch (JsonException ex)
        {
            throw new MailGatewayException($"The answer of MailGateway ({(int)response.StatusCode}) could not be read: {ex.Message}", (int)response.StatusCode, idempotencyKey: idempotencyKey, innerException: ex);
        }
    }

    private static async Task<MailGatewayException> ToExceptionAsync(HttpResponseMessage response, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var problem = await ReadProblemAsync(response, cancellationToken);
        var retryAfter = MailGatewayResilience.RetryAfter(response, TimeProvider.System);

        // Field codes, never the field messages: an exception message is logged, and messages may quote addresses.
        var summary = problem is null
            ? $"MailGateway answered {status} {response.ReasonPhrase}."
            : $"MailGateway answered {status} {problem.Title}: {problem.Detail}"
              + (problem.Errors.Count == 0 ? "" : " (" + string.Join("; ", problem.Errors.Select(e => $"{e.Field}: {e.Code}")) + ")");
        return new MailGatewayException(summary, status, problem, retryAfter, idempotencyKey);
    }

    private static async Task<MailGatewayProblem?> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType is not ("application/problem+json" or "application/json"))
        {
            return null;
        }

        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxErrorBodyBytes];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
            }

            return length == buffer.Length ? null : JsonSerializer.Deserialize(buffer.AsSpan(0, length), ClientJsonContext.Default.MailGatewayProblem);
        }
        catch (Exception ex) when (ex is JsonException or IOException or HttpRequestException)
        {
            // A broken error body still leaves the status code to report.
            return null;
        }
    }

    private static Uri WithTrailingSlash(Uri baseAddress) =>
        baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
}
