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
/// enforces the connection limits (overall, per address, per IPv6 /64: 421 and close, before any session exists) and wraps each connection in a
/// <see cref="SessionConnection"/>.
/// </summary>
internal sealed class InboundEndpointListenerFactory(
    IReadOnlyDictionary<IEndpointDefinition, Socket> sockets, ListenerContext shared) : IEndpointListenerFactory
{
    public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition) =>
        new Listener(sockets[endpointDefinition], shared);

    private sealed class Listener(Socket socket, ListenerContext shared) : IEndpointListener
    {
        public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
        {
            while (true)
            {
                var client = await socket.AcceptAsync(cancellationToken);
                client.NoDelay = true;
                var remote = (IPEndPoint)client.RemoteEndPoint!;
                var session = new InboundSession(remote, context.SessionId);
                var limit = shared.Limiter.TryAcquire(session.ClientAddress, out var stressBegins);
                if (stressBegins)
                {
                    Log.StressBegins(shared.Logger, shared.Options.StressThreshold, shared.Options.StressCommandTimeout);
                }

                if (limit is { } reached)
                {
                    var (limitName, reply) = reached switch
                    {
                        LimitReached.Total => ("overall", Replies.TooManyConnections(shared.Options.ServerName)),
                        LimitReached.PerClient => ("per_client", Replies.TooManyConnectionsFromClient(shared.Options.ServerName)),
                        _ => ("per_network", Replies.TooManyConnectionsFromNetwork(shared.Options.ServerName)),
                    };
                    Log.ConnectionRefused(shared.Logger, session.ClientAddress, limitName);
                    shared.Metrics.ConnectionRefused(limitName);
                    _ = RefuseAsync(client, reply, shared.TimeProvider);
                    continue;
                }

                context.Properties[EndpointListener.LocalEndPointKey] = socket.LocalEndPoint!;
                context.Properties[EndpointListener.RemoteEndPointKey] = remote;
                context.Properties[InboundSession.PropertyKey] = session;
                return new SessionConnection(client, context, session, shared, () => shared.Limiter.Release(session.ClientAddress));
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
