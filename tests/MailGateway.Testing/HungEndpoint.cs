using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace MailGateway.Testing;

/// <summary>
/// A loopback TCP port that accepts every connection and never answers or closes it (a storage endpoint in a
/// brown-out: the connection succeeds, the request is read by nobody). Disposing it closes every connection.
/// </summary>
public sealed class HungEndpoint : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentBag<Socket> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private int _accepted;

    /// <summary>Starts accepting.</summary>
    public HungEndpoint()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoopAsync();
    }

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <summary>Connections accepted (and held) so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        foreach (var socket in _held)
        {
            socket.Dispose();
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                _held.Add(socket);
                Interlocked.Increment(ref _accepted);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Disposed.
        }
    }
}
