using System.Net;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace MailGateway.Core.Delivery;

/// <summary>
/// Opens a connection to the relay: connect (NoDelay), TLS, EHLO and AUTH, walking the port list (the port that last
/// worked first) with a circuit breaker per port and jittered passes over the list when every port failed.
/// </summary>
/// <remarks>
/// Budget: (<see cref="SmtpRelayOptions.ConnectRetries"/> + 1) passes, each port at most once per pass and skipped while
/// its circuit is open; <see cref="SmtpRelayOptions.ConnectTimeout"/> per port. Only connection-level failures move on.
/// </remarks>
internal sealed partial class RelayConnector
{
    private readonly SmtpRelayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RelayCertificateValidator _validator;
    private readonly IReadOnlyList<RelayEndpoint> _endpoints;
    private readonly ResiliencePipeline[] _portPipelines;
    private readonly ResiliencePipeline _connectPipeline;
    private readonly DeliveryMetrics _metrics;
    private int _preferredEndpoint;

    public RelayConnector(SmtpRelayOptions options, TimeProvider time, ILogger logger, DeliveryMetrics metrics)
    {
        _metrics = metrics;
        _options = options;
        _time = time;
        _logger = logger;
        _validator = new RelayCertificateValidator(options);
        _endpoints = options.EffectiveEndpoints;
        _portPipelines = [.. _endpoints.Select(BuildPortPipeline)];
        _connectPipeline = BuildConnectPipeline();
    }

    /// <summary>A new connected, authenticated session; <see cref="RelayUnavailableException"/> when every pass failed.</summary>
    public ValueTask<RelaySession> ConnectAsync(CancellationToken cancellationToken) =>
        _connectPipeline.ExecuteAsync(static (connector, ct) => connector.ConnectAnyAsync(ct), this, cancellationToken);

    // One pass over the port list, the port that last worked first.
    private async ValueTask<RelaySession> ConnectAnyAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var preferred = Volatile.Read(ref _preferredEndpoint);
        foreach (var index in Enumerable.Range(0, _endpoints.Count).OrderBy(i => i == preferred ? 0 : 1))
        {
            var endpoint = _endpoints[index];
            try
            {
                var session = await _portPipelines[index].ExecuteAsync(
                    static (state, ct) => state.Connector.ConnectAsync(state.Endpoint, ct), (Connector: this, Endpoint: endpoint), cancellationToken);
                Volatile.Write(ref _preferredEndpoint, index);
                _metrics.Connections.Add(1, new("server.port", endpoint.Port), new("result", "ok"));
                return session;
            }
            catch (BrokenCircuitException)
            {
                failures.Add($"{endpoint.Port}: skipped (circuit open after repeated failures)");
                LogPortSkipped(_logger, endpoint.Port);
            }
            catch (Exception ex) when (RelayErrors.IsConnectionLevel(ex) && !cancellationToken.IsCancellationRequested)
            {
                var reason = RelayErrors.Describe(ex);
                failures.Add($"{endpoint.Port}: {reason}");
                _metrics.Connections.Add(1, new("server.port", endpoint.Port), new("result", "failed"));
                LogPortFailed(_logger, endpoint.Port, reason);
            }
        }

        throw new RelayUnavailableException($"relay {_options.Host} unreachable: " + string.Join("; ", failures));
    }

    private async ValueTask<RelaySession> ConnectAsync(RelayEndpoint endpoint, CancellationToken cancellationToken)
    {
        var watcher = new FinalDotWatcher();
        var client = new TrackingSmtpClient(watcher)
        {
            // A backstop only: phase timeouts are enforced with cancellation.
            Timeout = (int)Math.Min(int.MaxValue, (Max(_options.CommandTimeout, _options.DataTimeout) + TimeSpan.FromMinutes(1)).TotalMilliseconds),
            CheckCertificateRevocation = _options.CheckCertificateRevocation,
            ServerCertificateValidationCallback = _validator.Validate,
        };
        if (!string.IsNullOrWhiteSpace(_options.HeloName))
        {
            client.LocalDomain = _options.HeloName;
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(_options.Host, endpoint.Port, cancellationToken);
            var secure = endpoint.Tls == RelayTlsMode.ImplicitTls
                ? SecureSocketOptions.SslOnConnect
                : _options.TlsPolicy switch
                {
                    RelayTlsPolicy.Required => SecureSocketOptions.StartTls,
                    RelayTlsPolicy.Opportunistic => SecureSocketOptions.StartTlsWhenAvailable,
                    _ => SecureSocketOptions.None,
                };
            await client.ConnectAsync(socket, _options.Host, endpoint.Port, secure, cancellationToken);

            // BDAT has no final dot to watch for, and BINARYMIME needs BDAT.
            client.Capabilities &= ~(SmtpCapabilities.Chunking | SmtpCapabilities.BinaryMime);
            await AuthenticateAsync(client, cancellationToken);
            return new RelaySession(client, endpoint, _time.GetTimestamp());
        }
        catch
        {
            client.Dispose();
            socket.Dispose();
            throw;
        }
    }

    private async Task AuthenticateAsync(TrackingSmtpClient client, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(_options.UserName))
        {
            return;
        }

        if (!client.IsSecure)
        {
            throw new RelayConnectException("refusing to send credentials without TLS");
        }

        try
        {
            if (!string.IsNullOrEmpty(_options.OAuth2AccessToken))
            {
                await client.AuthenticateAsync(new SaslMechanismOAuth2(_options.UserName, _options.OAuth2AccessToken), cancellationToken);
            }
            else
            {
                await client.AuthenticateAsync(new NetworkCredential(_options.UserName, _options.Password), cancellationToken);
            }
        }
        catch (AuthenticationException ex)
        {
            throw new RelayCredentialsException(null, true, "relay rejected credentials: " + ex.Message, ex);
        }
        catch (SmtpCommandException ex)
        {
            var reply = SmtpReplies.ToReply(ex);
            throw new RelayCredentialsException(reply, !reply.IsTransient, "relay refused authentication: " + reply, ex);
        }
    }

    private ResiliencePipeline BuildPortPipeline(RelayEndpoint endpoint) =>
        new ResiliencePipelineBuilder { TimeProvider = _time, Name = $"relay-port-{endpoint.Port}" }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 1.0,
                MinimumThroughput = Math.Max(2, _options.BreakAfterFailures),
                SamplingDuration = Max(_options.BreakDuration, TimeSpan.FromSeconds(1)),
                BreakDuration = _options.BreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(RelayErrors.IsConnectionLevel),
            })
            .AddTimeout(_options.ConnectTimeout)
            .Build();

    private ResiliencePipeline BuildConnectPipeline()
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = _time, Name = "relay-connect" };
        if (_options.ConnectRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RelayUnavailableException>(),
                MaxRetryAttempts = _options.ConnectRetries,
                Delay = _options.ConnectRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }

        return builder.Build();
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relay port {Port} failed: {Reason}; trying the next port")]
    private static partial void LogPortFailed(ILogger logger, int port, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Relay port {Port} skipped: its circuit is open")]
    private static partial void LogPortSkipped(ILogger logger, int port);
}
