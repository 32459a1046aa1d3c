using Microsoft.Extensions.Options;

namespace MailGateway.Client;

/// <summary>
/// The typed client of the MailGateway HTTP API. Operations are grouped by resource (<see cref="Messages"/>; further
/// groups arrive with the API), health probes sit on the client itself. Thread-safe: use one instance for the whole
/// application (<c>services.AddMailGatewayClient(…)</c> registers it as a singleton).
/// </summary>
public partial class MailGatewayClient : IDisposable
{
    /// <summary>The name of the <see cref="HttpClient"/> that <c>AddMailGatewayClient</c> registers with IHttpClientFactory.</summary>
    public const string HttpClientName = "MailGateway.Client";

    private readonly GatewayConnection _connection = null!;
    private readonly HttpClient? _ownedHttpClient;

    /// <summary>
    /// A client with its own <see cref="HttpClient"/> and the same retries as the DI registration (for code without
    /// dependency injection; dispose it when done).
    /// </summary>
    public MailGatewayClient(MailGatewayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        MailGatewayClientOptionsValidator.ThrowIfInvalid(options);
        var inner = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) };
        _ownedHttpClient = new HttpClient(MailGatewayResilience.CreateHandler(options, inner)) { Timeout = Timeout.InfiniteTimeSpan };
        var client = _ownedHttpClient;
        _connection = new GatewayConnection(() => client, () => options);
        Messages = new MessagesClient(_connection);
    }

    /// <summary>
    /// A client over an <see cref="HttpClient"/> you configure yourself: it is used as it is (no retries are added)
    /// and not disposed by this client; <see cref="MailGatewayClientOptions.BaseAddress"/> and the API key come from
    /// <paramref name="options"/>.
    /// </summary>
    public MailGatewayClient(HttpClient httpClient, MailGatewayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        MailGatewayClientOptionsValidator.ThrowIfInvalid(options);
        _connection = new GatewayConnection(() => httpClient, () => options);
        Messages = new MessagesClient(_connection);
    }

    /// <summary>The client that <c>AddMailGatewayClient</c> registers: a pooled <see cref="HttpClient"/> from the factory per call, options as configured.</summary>
    internal MailGatewayClient(IHttpClientFactory httpClientFactory, IOptionsMonitor<MailGatewayClientOptions> options)
    {
        _connection = new GatewayConnection(() => httpClientFactory.CreateClient(HttpClientName), () => options.CurrentValue);
        Messages = new MessagesClient(_connection);
    }

    /// <summary>For mocking in tests of your own code: every public member is virtual.</summary>
    protected MailGatewayClient()
    {
        Messages = null!;
    }

    /// <summary>Messages: send and read their status (<c>/api/v1/messages</c>).</summary>
    public virtual MessagesClient Messages { get; }

    /// <summary>
    /// <c>GET /healthz</c>: whether the gateway process is alive. Not retried. Throws <see cref="MailGatewayException"/>
    /// when there is no answer.
    /// </summary>
    public virtual Task<GatewayHealth> GetHealthAsync(CancellationToken cancellationToken = default) =>
        _connection.ProbeAsync("healthz", cancellationToken);

    /// <summary>
    /// <c>GET /readyz</c>: whether the gateway can accept messages now (its queue and stores answer). Not retried; a
    /// gateway that is not ready is an answer (<see cref="GatewayHealth.IsHealthy"/> false, with the failing parts),
    /// not an exception.
    /// </summary>
    public virtual Task<GatewayHealth> GetReadinessAsync(CancellationToken cancellationToken = default) =>
        _connection.ProbeAsync("readyz", cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the <see cref="HttpClient"/> this client created itself (none when it was given one or made by DI).</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _ownedHttpClient?.Dispose();
        }
    }
}
