using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Delivery;

/// <summary>
/// Delivers over SMTP to the configured relay with MailKit: port fallback on connection-level failures only, TLS
/// required by default, per-recipient results, several transactions for many recipients, pooled connections. The
/// stored wire bytes are sent as they are, never parsed.
/// </summary>
/// <remarks>
/// One attempt = one of at most <see cref="SmtpRelayOptions.MaxConnections"/> connections: a session from the <see cref="RelayConnectionPool"/> (a reused one, or a new one from the
/// <see cref="RelayConnector"/>: port fallback, circuit breakers, TLS, AUTH) and an <see cref="SmtpTransaction"/> on it.
/// Attempt budget per call: (<see cref="SmtpRelayOptions.ConnectRetries"/> + 1) passes over the port list, each port
/// at most once per pass and skipped while its circuit is open; one SMTP transaction per
/// <see cref="SmtpRelayOptions.MaxRecipientsPerTransaction"/> recipients. Nothing is retried once MAIL FROM has been
/// answered: later retries are the queue's job (with backoff), so the total is queue attempts × this budget.
/// </remarks>
public sealed partial class SmtpDeliveryEngine : IDeliveryEngine, IDisposable
{
    private readonly SmtpRelayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SmtpDeliveryEngine> _logger;
    private readonly RelayConnectionPool _pool;
    private readonly SmtpTransaction _transaction;
    private readonly DeliveryMetrics _metrics;
    private readonly RelayRateLimiter? _rate;

    // Connections in use; with the pool's rule (a new one is opened only when none is idle) also the connections open.
    private readonly SemaphoreSlim _connections;
    private bool _disposed;

    /// <summary>Creates the engine for one relay.</summary>
    public SmtpDeliveryEngine(IOptions<SmtpRelayOptions> options, TimeProvider timeProvider, ILogger<SmtpDeliveryEngine> logger, DeliveryMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _pool = new RelayConnectionPool(_options, timeProvider, new RelayConnector(_options, timeProvider, logger, metrics));
        _transaction = new SmtpTransaction(_options, timeProvider, logger);
        _connections = new SemaphoreSlim(_options.MaxConnections, _options.MaxConnections);
        _rate = _options.MaxMessagesPerPeriod > 0 ? new RelayRateLimiter(_options.MaxMessagesPerPeriod, _options.RateLimitPeriod, timeProvider) : null;
    }

    /// <summary>How many deliveries waited for the relay's sending rate so far.</summary>
    internal long RateLimitWaits => _rate?.Waits ?? 0;

    /// <inheritdoc />
    public async Task<DeliveryOutcome> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var started = _time.GetTimestamp();
        using var activity = DeliveryTelemetry.Source.StartActivity("smtp deliver", ActivityKind.Client);
        activity?.SetTag("mailgateway.message_id", request.MessageId);
        activity?.SetTag("server.address", _options.Host);

        DeliveryOutcome outcome;
        RelaySession? session = null;
        var holdsConnection = false;
        try
        {
            if (_rate is not null)
            {
                await _rate.WaitAsync(cancellationToken);
            }

            await _connections.WaitAsync(cancellationToken);
            holdsConnection = true;
            session = await _pool.AcquireAsync(cancellationToken);
            (outcome, var healthy) = await _transaction.SendAsync(session, request, cancellationToken);
            if (healthy)
            {
                _pool.Release(session);
            }
            else
            {
                session.Dispose();
            }

            session = null;
        }
        catch (RelayUnavailableException ex)
        {
            outcome = AllRecipients(request, DeliveryOutcomeKind.Deferred, RecipientState.Deferred, null, ex.Message);
        }
        catch (RelayCredentialsException ex)
        {
            outcome = ex.Permanent
                ? AllRecipients(request, DeliveryOutcomeKind.Failed, RecipientState.Failed, ex.Reply, ex.Message)
                : AllRecipients(request, DeliveryOutcomeKind.Deferred, RecipientState.Deferred, ex.Reply, ex.Message);
            LogCredentialsRejected(ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            session?.Dispose();
            outcome = AllRecipients(request, DeliveryOutcomeKind.Deferred, RecipientState.Deferred, null, "cancelled before sending");
        }
        finally
        {
            if (holdsConnection)
            {
                _connections.Release();
            }
        }

        var elapsed = _time.GetElapsedTime(started);
        outcome = outcome with { Duration = elapsed };
        Record(activity, outcome);
        return outcome;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _pool.Dispose();
        // _connections is not disposed: a delivery still finishing at shutdown releases its permit afterwards, and a
        // SemaphoreSlim whose wait handle was never asked for holds nothing to free.
    }

    private static DeliveryOutcome AllRecipients(DeliveryRequest request, DeliveryOutcomeKind kind, RecipientState state, SmtpReply? reply, string reason) => new()
    {
        Kind = kind,
        Reason = reason,
        Reply = reply,
        Recipients = [.. request.Envelope.Recipients.Select(r => new RecipientResult(r, state, reply))],
    };

    private void Record(Activity? activity, DeliveryOutcome outcome)
    {
        var outcomeTag = new KeyValuePair<string, object?>("outcome", outcome.Kind.ToString().ToLowerInvariant());
        var portTag = new KeyValuePair<string, object?>("server.port", outcome.Port);
        _metrics.Deliveries.Add(1, outcomeTag, portTag);
        _metrics.Duration.Record(outcome.Duration.TotalSeconds, outcomeTag, portTag);
        activity?.SetTag("mailgateway.outcome", outcome.Kind.ToString());
        activity?.SetTag("server.port", outcome.Port);
        if (outcome.Kind != DeliveryOutcomeKind.Delivered)
        {
            activity?.SetStatus(ActivityStatusCode.Error, outcome.Reason);
        }

        LogOutcome(outcome.Kind, outcome.Port, outcome.Duration.TotalMilliseconds, outcome.Reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {Outcome} via port {Port} in {ElapsedMs:F0} ms: {Reason}")]
    private partial void LogOutcome(DeliveryOutcomeKind outcome, int? port, double elapsedMs, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Relay authentication failed: {Reason}. Check MailGateway:Relay:UserName and Password")]
    private partial void LogCredentialsRejected(string reason);
}
