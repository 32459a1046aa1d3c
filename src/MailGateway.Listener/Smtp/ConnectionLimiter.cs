using System.Net;

namespace MailGateway.Listener.Smtp;

/// <summary>Counts open connections overall and per client address.</summary>
internal sealed class ConnectionLimiter(int maxTotal, int maxPerClient)
{
    private readonly Dictionary<IPAddress, int> _perClient = [];
    private readonly Lock _lock = new();
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

    /// <summary>Takes a slot, or says which limit is reached (null when a slot was taken).</summary>
    public LimitReached? TryAcquire(IPAddress client)
    {
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

            _perClient[client] = count + 1;
            _total++;
            return null;
        }
    }

    public void Release(IPAddress client)
    {
        lock (_lock)
        {
            _total--;
            if (_perClient.TryGetValue(client, out var count))
            {
                if (count <= 1)
                {
                    _perClient.Remove(client);
                }
                else
                {
                    _perClient[client] = count - 1;
                }
            }
        }
    }
}

internal enum LimitReached
{
    Total,
    PerClient,
}
