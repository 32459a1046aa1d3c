using System.Net;
using System.Net.Sockets;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Counts open connections overall, per client address and per IPv6 /64, and says when the listener is under stress
/// (at least <c>stressThreshold</c> open connections).
/// </summary>
internal sealed class ConnectionLimiter(int maxTotal, int maxPerClient, int maxPerIPv6Prefix, int stressThreshold)
{
    private readonly Dictionary<IPAddress, int> _perClient = [];
    private readonly Dictionary<IPAddress, int> _perNetwork = [];
    private readonly Lock _lock = new();
    private CancellationTokenSource _stress = new();
    private int _total;

    public int Total
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    /// <summary>Cancelled while the listener is under stress (a new token once it is not any more). Read on every read of every session: no lock.</summary>
    public CancellationToken Stress => Volatile.Read(ref _stress).Token;

    /// <summary>Takes a slot, or says which limit is reached (null when a slot was taken; <paramref name="stressBegins"/> when it was the one that put the listener under stress).</summary>
    public LimitReached? TryAcquire(IPAddress client, out bool stressBegins)
    {
        stressBegins = false;
        CancellationTokenSource? stressed = null;
        lock (_lock)
        {
            if (_total >= maxTotal)
            {
                return LimitReached.Total;
            }

            _perClient.TryGetValue(client, out var count);
            if (count >= maxPerClient)
            {
                return LimitReached.PerClient;
            }

            var network = client.AddressFamily == AddressFamily.InterNetworkV6 ? ClientNetwork.Of(client) : null;
            var inNetwork = 0;
            if (network is not null && _perNetwork.TryGetValue(network, out inNetwork) && inNetwork >= maxPerIPv6Prefix)
            {
                return LimitReached.PerNetwork;
            }

            _perClient[client] = count + 1;
            if (network is not null)
            {
                _perNetwork[network] = inNetwork + 1;
            }

            if (++_total == stressThreshold)
            {
                stressed = _stress;
            }
        }

        // Outside the lock: the sessions waiting for input shorten their timeouts in the callbacks.
        if (stressed is not null)
        {
            stressed.Cancel();
            stressBegins = true;
        }

        return null;
    }

    public void Release(IPAddress client)
    {
        lock (_lock)
        {
            if (_total-- == stressThreshold)
            {
                Volatile.Write(ref _stress, new CancellationTokenSource());
            }

            Decrement(_perClient, client);
            if (client.AddressFamily == AddressFamily.InterNetworkV6)
            {
                Decrement(_perNetwork, ClientNetwork.Of(client));
            }
        }
    }

    private static void Decrement(Dictionary<IPAddress, int> counts, IPAddress key)
    {
        if (counts.TryGetValue(key, out var count))
        {
            if (count <= 1)
            {
                counts.Remove(key);
            }
            else
            {
                counts[key] = count - 1;
            }
        }
    }
}

internal enum LimitReached
{
    Total,
    PerClient,
    PerNetwork,
}
