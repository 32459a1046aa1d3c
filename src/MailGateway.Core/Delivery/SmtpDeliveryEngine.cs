using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using MailGateway.Core.Messages;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace MailGateway.Core.Delivery;

/// <summary>
/// Delivers over SMTP to the configured relay with MailKit: port fallback on connection-level failures only, TLS
/// required by default, per-recipient results, several transactions for many recipients, pooled connections.
/// </summary>
/// <remarks>
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
    private readonly DeliveryMetrics _metrics;
    private readonly RelayCertificateValidator _validator;
    private readonly IReadOnlyList<RelayEndpoint> _endpoints;
    private readonly ResiliencePipeline[] _portPipelines;
    private readonly ResiliencePipeline _connectPipeline;
    private readonly ConcurrentStack<RelaySession> _idle = new();
    private int _preferredEndpoint;
    private bool _disposed;

    /// <summary>Creates the engine for one relay.</summary>
    public SmtpDeliveryEngine(IOptions<SmtpRelayOptions> options, TimeProvider timeProvider, ILogger<SmtpDeliveryEngine> logger, DeliveryMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _validator = new RelayCertificateValidator(_options);
        _endpoints = _options.EffectiveEndpoints;
        _portPipelines = [.. _endpoints.Select(BuildPortPipeline)];
        _connectPipeline = BuildConnectPipeline();
    }

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
        try
        {
            session = await AcquireAsync(cancellationToken);
            (outcome, var healthy) = await SendAsync(session, request, cancellationToken);
            if (healthy)
            {
                Release(session);
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

        var elapsed = _time.GetElapsedTime(started);
        outcome = outcome with { Duration = elapsed };
        Record(activity, outcome);
        return outcome;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryPop(out var session))
        {
            session.Dispose();
        }
    }

    private async Task<(DeliveryOutcome Outcome, bool Healthy)> SendAsync(RelaySession session, DeliveryRequest request, CancellationToken cancellationToken)
    {
        var client = session.Client;
        var tls = client.IsSecure ? client.SslProtocol.ToString() : null;
        var cipher = client.IsSecure ? client.SslCipherSuite?.ToString() : null;
        DeliveryOutcome Build(DeliveryOutcomeKind kind, string reason, SmtpReply? reply, IReadOnlyList<RecipientResult> recipients) => new()
        {
            Kind = kind,
            Reason = reason,
            Reply = reply,
            Port = session.Endpoint.Port,
            TlsProtocol = tls,
            TlsCipherSuite = cipher,
            Recipients = recipients,
        };

        if ((client.Capabilities & SmtpCapabilities.Size) != 0 && client.MaxSize > 0)
        {
            var size = request.Size ?? MeasureSize(request.Message);
            if (size > (long)client.MaxSize)
            {
                var reason = $"message is {size} bytes; the relay accepts at most {client.MaxSize} (SIZE)";
                return (Build(DeliveryOutcomeKind.Failed, reason, null,
                    [.. request.Envelope.Recipients.Select(r => new RecipientResult(r, RecipientState.Failed, null))]), true);
            }
        }

        var results = new List<RecipientResult>(request.Envelope.Recipients.Count);
        var healthy = true;
        SmtpReply? decisive = null;
        string? reason0 = null;
        var sender = MailboxAddress.Parse(request.Envelope.MailFrom);
        foreach (var chunk in request.Envelope.Recipients.Chunk(_options.MaxRecipientsPerTransaction))
        {
            if (!healthy)
            {
                results.AddRange(chunk.Select(r => new RecipientResult(r, RecipientState.Deferred, null)));
                continue;
            }

            var (chunkResults, reply, reason, ok) = await SendTransactionAsync(client, request, sender, chunk, cancellationToken);
            results.AddRange(chunkResults);
            healthy = ok;
            if (reason0 is null || (reply is not null && !reply.IsPositive() && (decisive is null || decisive.IsPositive())))
            {
                decisive = reply;
                reason0 = reason;
            }
        }

        var kind = DeliveryOutcome.KindOf(results);
        var decisiveReason = kind switch
        {
            DeliveryOutcomeKind.Delivered when decisive is { } r && r.IsPositive() => r.ToString(),
            _ => FirstReason(results, kind) ?? reason0 ?? kind.ToString(),
        };
        var decisiveReply = kind == DeliveryOutcomeKind.Delivered
            ? decisive
            : results.FirstOrDefault(r => Matches(r.State, kind))?.Reply ?? decisive;
        if (kind == DeliveryOutcomeKind.Unknown || (kind == DeliveryOutcomeKind.Deferred && decisiveReply is null))
        {
            decisiveReason = reason0 ?? decisiveReason;
        }

        return (Build(kind, decisiveReason, decisiveReply, results), healthy);
    }

    private async Task<(List<RecipientResult> Results, SmtpReply? Reply, string Reason, bool Healthy)> SendTransactionAsync(
        TrackingSmtpClient client, DeliveryRequest request, MailboxAddress sender, string[] recipients, CancellationToken cancellationToken)
    {
        client.BeginTransaction();
        using var timer = new PhaseTimer(_time, cancellationToken, _options.CommandTimeout);
        client.ReplyReceived = () => timer.Arm(_options.CommandTimeout);
        client.Watcher.FinalDotWritten = () => timer.Arm(_options.DataTimeout);
        var progress = new Progress(() => timer.Arm(_options.CommandTimeout));
        var mailboxes = recipients.Select(r => MailboxAddress.Parse(r)).ToList();
        try
        {
            var response = await client.SendAsync(MessageComposer.WireFormat, request.Message, sender, mailboxes, timer.Token, progress);
            var accepted = new SmtpReply(250, ParseEnhanced(response, out var text), text);
            return (ResultsAfterData(client, recipients, accepted, RecipientState.Delivered), accepted, accepted.ToString(), true);
        }
        catch (NoRecipientsAcceptedException)
        {
            var results = ResultsAfterData(client, recipients, null, RecipientState.Deferred);
            return (results, results.Select(r => r.Reply).FirstOrDefault(r => r is not null), "no recipient accepted", false);
        }
        catch (SmtpCommandException ex) when (ex.ErrorCode == SmtpErrorCode.SenderNotAccepted)
        {
            var reply = ToReply(ex);
            var state = reply.IsTransient ? RecipientState.Deferred : RecipientState.Failed;
            return ([.. recipients.Select(r => new RecipientResult(r, state, reply))], reply, "MAIL FROM refused: " + reply, false);
        }
        catch (SmtpCommandException ex)
        {
            // DATA or the final dot refused: a verdict for every recipient the relay had accepted.
            var reply = ToReply(ex);
            var state = reply.IsTransient ? RecipientState.Deferred : RecipientState.Failed;
            return (ResultsAfterData(client, recipients, reply, state), reply, "message refused: " + reply, false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return LostConnection(client, recipients, "timed out waiting for the relay");
        }
        catch (OperationCanceledException)
        {
            return LostConnection(client, recipients, "cancelled");
        }
        catch (Exception ex) when (IsNetworkFailure(ex))
        {
            return LostConnection(client, recipients, "connection lost: " + ex.Message);
        }
        finally
        {
            client.ReplyReceived = null;
            client.Watcher.FinalDotWritten = null;
        }
    }

    private (List<RecipientResult>, SmtpReply?, string, bool) LostConnection(TrackingSmtpClient client, string[] recipients, string what)
    {
        if (client.Watcher.FinalDotSent)
        {
            var reason = what + " after the final dot: the relay may have accepted the message";
            LogUnknown(reason);
            return (ResultsAfterData(client, recipients, null, RecipientState.Unknown), null, reason, false);
        }

        return (ResultsAfterData(client, recipients, null, RecipientState.Deferred), null, what + " before the end of DATA", false);
    }

    // Recipients the relay refused keep their RCPT reply; the others take the outcome of the transaction.
    private static List<RecipientResult> ResultsAfterData(TrackingSmtpClient client, string[] recipients, SmtpReply? reply, RecipientState accepted)
    {
        var results = new List<RecipientResult>(recipients.Length);
        foreach (var recipient in recipients)
        {
            if (client.RecipientReplies.TryGetValue(recipient, out var response) && (int)response.StatusCode >= 300)
            {
                var rcpt = new SmtpReply((int)response.StatusCode, ParseEnhanced(response.Response, out var text), text);
                // RFC 5321 §4.5.3.1.10: 552 to RCPT means "too many recipients"; retry later, like 452.
                var state = rcpt.IsTransient || rcpt.Code == 552 ? RecipientState.Deferred : RecipientState.Failed;
                results.Add(new RecipientResult(recipient, state, rcpt));
            }
            else
            {
                results.Add(new RecipientResult(recipient, accepted, reply));
            }
        }

        return results;
    }

    private static bool Matches(RecipientState state, DeliveryOutcomeKind kind) => kind switch
    {
        DeliveryOutcomeKind.Deferred => state == RecipientState.Deferred,
        DeliveryOutcomeKind.Failed => state == RecipientState.Failed,
        DeliveryOutcomeKind.Unknown => state == RecipientState.Unknown,
        _ => state == RecipientState.Delivered,
    };

    private static string? FirstReason(List<RecipientResult> results, DeliveryOutcomeKind kind) =>
        results.FirstOrDefault(r => Matches(r.State, kind) && r.Reply is not null)?.Reply?.ToString();

    private async Task<RelaySession> AcquireAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryPop(out var session))
        {
            var idle = _time.GetElapsedTime(session.LastUsed);
            if (!session.Client.IsConnected || idle > _options.MaxIdleTime)
            {
                session.Dispose();
                continue;
            }

            if (idle > _options.IdleCheckAfter)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
                    await session.Client.NoOpAsync(linked.Token);
                }
                catch (Exception ex) when (IsNetworkFailure(ex) || ex is SmtpCommandException or OperationCanceledException)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    session.Dispose();
                    continue;
                }
            }

            return session;
        }

        return await _connectPipeline.ExecuteAsync(static (engine, ct) => engine.ConnectAnyAsync(ct), this, cancellationToken);
    }

    private void Release(RelaySession session)
    {
        if (_disposed || !session.Client.IsConnected || _idle.Count >= _options.MaxIdleConnections)
        {
            session.Dispose();
            return;
        }

        session.LastUsed = _time.GetTimestamp();
        _idle.Push(session);
    }

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
                    static (state, ct) => state.Engine.ConnectAsync(state.Endpoint, ct), (Engine: this, Endpoint: endpoint), cancellationToken);
                Volatile.Write(ref _preferredEndpoint, index);
                _metrics.Connections.Add(1, new("server.port", endpoint.Port), new("result", "ok"));
                return session;
            }
            catch (BrokenCircuitException)
            {
                failures.Add($"{endpoint.Port}: skipped (circuit open after repeated failures)");
                LogPortSkipped(endpoint.Port);
            }
            catch (Exception ex) when (IsConnectionLevel(ex) && !cancellationToken.IsCancellationRequested)
            {
                var reason = Describe(ex);
                failures.Add($"{endpoint.Port}: {reason}");
                _metrics.Connections.Add(1, new("server.port", endpoint.Port), new("result", "failed"));
                LogPortFailed(endpoint.Port, reason);
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
            var reply = ToReply(ex);
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
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsConnectionLevel),
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

    private static bool IsConnectionLevel(Exception ex) => ex is SocketException or IOException or TimeoutRejectedException
        or SslHandshakeException or System.Security.Authentication.AuthenticationException or SmtpCommandException
        or SmtpProtocolException or NotSupportedException or ServiceNotConnectedException or RelayConnectException;

    private static bool IsNetworkFailure(Exception ex) => ex is SocketException or IOException or SmtpProtocolException
        or ServiceNotConnectedException or SslHandshakeException;

    private static string Describe(Exception ex) => ex switch
    {
        SocketException s => $"connect failed ({s.SocketErrorCode})",
        TimeoutRejectedException => "connect timed out",
        SslHandshakeException => "TLS handshake failed (certificate not trusted or no common protocol)",
        NotSupportedException => "STARTTLS not offered while TLS is required",
        SmtpCommandException c => "refused at connect: " + ToReply(c),
        _ => ex.Message,
    };

    private static SmtpReply ToReply(SmtpCommandException ex) => new((int)ex.StatusCode, ParseEnhanced(ex.Message, out var text), text);

    private static string? ParseEnhanced(string response, out string text)
    {
        var match = EnhancedCode().Match(response);
        text = match.Success ? response[match.Length..].TrimStart() : response;
        return match.Success ? match.Groups[1].Value : null;
    }

    private static long MeasureSize(MimeMessage message)
    {
        using var counter = new MimeKit.IO.MeasuringStream();
        message.WriteTo(MessageComposer.WireFormat, counter);
        return counter.Length;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

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

    [GeneratedRegex(@"^([245]\.\d{1,3}\.\d{1,3})\b")]
    private static partial Regex EnhancedCode();

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {Outcome} via port {Port} in {ElapsedMs:F0} ms: {Reason}")]
    private partial void LogOutcome(DeliveryOutcomeKind outcome, int? port, double elapsedMs, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relay port {Port} failed: {Reason}; trying the next port")]
    private partial void LogPortFailed(int port, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Relay port {Port} skipped: its circuit is open")]
    private partial void LogPortSkipped(int port);

    [LoggerMessage(Level = LogLevel.Error, Message = "Relay authentication failed: {Reason}. Check MailGateway:Relay:UserName and Password")]
    private partial void LogCredentialsRejected(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery outcome unknown: {Reason}")]
    private partial void LogUnknown(string reason);

    private sealed class Progress(Action onProgress) : ITransferProgress
    {
        public void Report(long bytesTransferred, long totalSize) => onProgress();

        public void Report(long bytesTransferred) => onProgress();
    }
}

/// <summary>A connected, authenticated relay client and where it is connected.</summary>
internal sealed class RelaySession(TrackingSmtpClient client, RelayEndpoint endpoint, long lastUsed) : IDisposable
{
    public TrackingSmtpClient Client { get; } = client;

    public RelayEndpoint Endpoint { get; } = endpoint;

    public long LastUsed { get; set; } = lastUsed;

    public void Dispose() => Client.Dispose();
}

/// <summary>An inactivity timer for one SMTP phase: every reply or data write re-arms it.</summary>
internal sealed class PhaseTimer : IDisposable
{
    private readonly CancellationTokenSource _timeout;
    private readonly CancellationTokenSource _linked;

    public PhaseTimer(TimeProvider time, CancellationToken cancellationToken, TimeSpan initial)
    {
        _timeout = new CancellationTokenSource(initial, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token, cancellationToken);
    }

    public CancellationToken Token => _linked.Token;

    public void Arm(TimeSpan timeout)
    {
        try
        {
            _timeout.CancelAfter(timeout);
        }
        catch (ObjectDisposedException)
        {
            // The phase already ended.
        }
    }

    public void Dispose()
    {
        _linked.Dispose();
        _timeout.Dispose();
    }
}

internal static class SmtpReplyExtensions
{
    public static bool IsPositive(this SmtpReply reply) => reply.Code is >= 200 and < 400;
}
