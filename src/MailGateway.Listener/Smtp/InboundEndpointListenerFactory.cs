using System.Net;
using System.Net.Sockets;
using System.Text;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Accepts connections on sockets bound before the server starts (so port 0 resolves and bind errors surface at
/// start), sets NoDelay (SmtpServer leaves Nagle on, which stalls pipelining clients by ~40 ms per message),
/// enforces the connection limits (421 and close, before any session exists) and wraps each connection in a
/// <see cref="SessionConnection"/>.
/// </summary>
internal sealed class InboundEndpointListenerFactory(
    IReadOnlyDictionary<IEndpointDefinition, Socket> sockets, ListenerContext shared, ConnectionLimiter limiter) : IEndpointListenerFactory
{
    public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition) =>
        new Listener(sockets[endpointDefinition], shared, limiter);

    private sealed class Listener(Socket socket, ListenerContext shared, ConnectionLimiter limiter) : IEndpointListener
    {
        public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
        {
            while (true)
            {
                var client = await socket.AcceptAsync(cancellationToken);
                client.NoDelay = true;
                var remote = (IPEndPoint)client.RemoteEndPoint!;
                var session = new InboundSession(remote, context.SessionId);
                var limit = limiter.TryAcquire(session.ClientAddress);
                if (limit is { } reached)
                {
                    var limitName = reached == LimitReached.Total ? "overall" : "per_client";
                    Log.ConnectionRefused(shared.Logger, session.ClientAddress, limitName);
                    shared.Metrics.ConnectionRefused(limitName);
                    var reply = reached == LimitReached.Total
                        ? Replies.TooManyConnections(shared.Options.ServerName)
                        : Replies.TooManyConnectionsFromClient(shared.Options.ServerName);
                    _ = RefuseAsync(client, reply, shared.TimeProvider);
                    continue;
                }

                context.Properties[EndpointListener.LocalEndPointKey] = socket.LocalEndPoint!;
                context.Properties[EndpointListener.RemoteEndPointKey] = remote;
                context.Properties[InboundSession.PropertyKey] = session;
                return new SessionConnection(client, context, session, shared, () => limiter.Release(session.ClientAddress));
            }
        }

        public void Dispose() => socket.Dispose();

        private static async Task RefuseAsync(Socket client, string reply, TimeProvider timeProvider)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), timeProvider);
                await client.SendAsync(Encoding.ASCII.GetBytes(reply + "\r\n"), SocketFlags.None, timeout.Token);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client left first.
            }
            finally
            {
                client.Dispose();
            }
        }
    }
}
