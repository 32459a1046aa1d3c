using System.Net;
using System.Net.Sockets;

namespace MailGateway.Testing;

/// <summary>Loopback ports for tests: never a fixed port, so parallel runs do not collide.</summary>
public static class FreePort
{
    /// <summary>
    /// A port that was free a moment ago (bound to 0, then released). For a peer that must be given a port number
    /// up front (smtp-sink); prefer binding to port 0 directly where the server allows it.
    /// </summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// A port on which nothing listens, kept that way by holding a bound but non-listening socket: a connect to it is
    /// refused at once (RST), which is what "587 refused" means in the tests.
    /// </summary>
    public static RefusedPort Refused() => new();

    /// <summary>A bound, never-listening loopback port; dispose it to release the port.</summary>
    public sealed class RefusedPort : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        internal RefusedPort()
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        }

        /// <summary>The port number.</summary>
        public int Port { get; }

        /// <inheritdoc />
        public void Dispose() => _socket.Dispose();
    }
}
