using System.Collections.Concurrent;
using MailKit.Net.Smtp;

namespace MailGateway.Core.Delivery;

/// <summary>
/// Connected relay sessions for reuse: one per in-flight delivery (at most <see cref="SmtpRelayOptions.MaxConnections"/>
/// of them, counted by the engine), at most <see cref="SmtpRelayOptions.MaxIdleConnections"/>
/// kept idle, each closed after <see cref="SmtpRelayOptions.MaxMessagesPerConnection"/> messages, checked with NOOP when idle longer than <see cref="SmtpRelayOptions.IdleCheckAfter"/>, closed when idle
/// longer than <see cref="SmtpRelayOptions.MaxIdleTime"/>; new ones come from the <see cref="RelayConnector"/>.
/// </summary>
internal sealed class RelayConnectionPool(SmtpRelayOptions options, TimeProvider time, RelayConnector connector) : IDisposable
{
    private readonly ConcurrentStack<RelaySession> _idle = new();
    private bool _disposed;

    /// <summary>An idle session that still answers, or a new one.</summary>
    public async Task<RelaySession> AcquireAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryPop(out var session))
        {
            var idle = time.GetElapsedTime(session.LastUsed);
            if (!session.Client.IsConnected || idle > options.MaxIdleTime)
            {
                session.Dispose();
                continue;
            }

            if (idle > options.IdleCheckAfter)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(options.ConnectTimeout, time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
                    await session.Client.NoOpAsync(linked.Token);
                }
                catch (Exception ex) when (RelayErrors.IsNetworkFailure(ex) || ex is SmtpCommandException or OperationCanceledException)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    session.Dispose();
                    continue;
                }
            }

            return session;
        }

        return await connector.ConnectAsync(cancellationToken);
    }

    /// <summary>Returns a healthy session for reuse (or closes it when the pool is full or disposed).</summary>
    public void Release(RelaySession session)
    {
        session.Messages++;
        if (_disposed || !session.Client.IsConnected || _idle.Count >= Math.Min(options.MaxIdleConnections, options.MaxConnections)
            || (options.MaxMessagesPerConnection > 0 && session.Messages >= options.MaxMessagesPerConnection))
        {
            session.Dispose();
            return;
        }

        session.LastUsed = time.GetTimestamp();
        _idle.Push(session);
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryPop(out var session))
        {
            session.Dispose();
        }
    }
}

/// <summary>A connected, authenticated relay client and where it is connected.</summary>
internal sealed class RelaySession(TrackingSmtpClient client, RelayEndpoint endpoint, long lastUsed) : IDisposable
{
    public TrackingSmtpClient Client { get; } = client;

    public RelayEndpoint Endpoint { get; } = endpoint;

    public long LastUsed { get; set; } = lastUsed;

    /// <summary>Messages sent on this connection (for <see cref="SmtpRelayOptions.MaxMessagesPerConnection"/>).</summary>
    public int Messages { get; set; }

    public void Dispose() => Client.Dispose();
}
