using System.Net;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Failed AUTH per client address (IPv6: /64), over all its sessions: each failure is answered later than the one
/// before (<see cref="InboundListenerOptions.AuthFailureDelay"/>, doubling up to 16 times), and after
/// <see cref="InboundListenerOptions.MaxAuthFailuresPerClient"/> failures AUTH from that address is refused for
/// <see cref="InboundListenerOptions.AuthLockoutDuration"/> without hashing anything. Password hashing (PBKDF2, ~60 ms
/// of CPU at the default iterations) runs for one AUTH per client address at a time and on at most half the cores
/// at once, so a flood of guesses from one address costs at most <c>MaxAuthFailuresPerClient</c> hashes and cannot
/// take the CPU every other session needs.
/// </summary>
internal sealed class AuthThrottle(InboundListenerOptions options, TimeProvider timeProvider)
{
    // Beyond this many remembered addresses, the expired ones are dropped; if none has expired, a new address's
    // failures are not remembered (hashing stays bounded by the gate either way).
    private const int MaxTrackedClients = 100_000;
    private const int MaxDelayDoublings = 4;

    private readonly Dictionary<IPAddress, Client> _clients = [];
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _hashing = new(Math.Max(1, Environment.ProcessorCount / 2));

    /// <summary>
    /// Checks one AUTH's password with <paramref name="verify"/>: null when <paramref name="client"/> is locked out
    /// (nothing was hashed), otherwise whether it matched and, for a failure, how long to hold back the answer.
    /// </summary>
    public async Task<(bool Verified, TimeSpan Delay)?> VerifyAsync(IPAddress client, Func<bool> verify, CancellationToken cancellationToken)
    {
        var entry = Enter(ClientNetwork.Of(client));
        try
        {
            if (IsLockedOut(entry))
            {
                return null;
            }

            // One check per address at a time: guesses queued behind the one that locks the address out are not hashed.
            await entry.Turn.WaitAsync(cancellationToken);
            try
            {
                if (IsLockedOut(entry))
                {
                    return null;
                }

                await _hashing.WaitAsync(cancellationToken);
                bool verified;
                try
                {
                    verified = verify();
                }
                finally
                {
                    _hashing.Release();
                }

                return verified ? (true, TimeSpan.Zero) : (false, RecordFailure(entry));
            }
            finally
            {
                entry.Turn.Release();
            }
        }
        finally
        {
            Leave(entry);
        }
    }

    private Client Enter(IPAddress key)
    {
        lock (_lock)
        {
            if (!_clients.TryGetValue(key, out var entry))
            {
                if (_clients.Count >= MaxTrackedClients)
                {
                    foreach (var idle in _clients.Where(c => c.Value.Users == 0 && Expired(c.Value)).Select(c => c.Key).ToList())
                    {
                        _clients.Remove(idle);
                    }
                }

                entry = new Client(key);
                _clients[key] = entry;
            }

            entry.Users++;
            return entry;
        }
    }

    private void Leave(Client entry)
    {
        lock (_lock)
        {
            // An address is remembered while it is checking a password or its failures count; beyond the bound, not at all.
            if (--entry.Users == 0 && (Expired(entry) || _clients.Count > MaxTrackedClients))
            {
                _clients.Remove(entry.Key);
            }
        }
    }

    private bool IsLockedOut(Client entry)
    {
        lock (_lock)
        {
            return entry.Failures >= options.MaxAuthFailuresPerClient && !Expired(entry);
        }
    }

    private TimeSpan RecordFailure(Client entry)
    {
        int failures;
        lock (_lock)
        {
            if (Expired(entry))
            {
                entry.Failures = 0;
            }

            failures = ++entry.Failures;
            entry.LastFailure = timeProvider.GetUtcNow();
        }

        return options.AuthFailureDelay * (1 << Math.Min(failures - 1, MaxDelayDoublings));
    }

    private bool Expired(Client entry) => entry.Failures == 0 || timeProvider.GetUtcNow() - entry.LastFailure >= options.AuthLockoutDuration;

    private sealed class Client(IPAddress key)
    {
        public IPAddress Key { get; } = key;

        public SemaphoreSlim Turn { get; } = new(1, 1);

        public int Users { get; set; }

        public int Failures { get; set; }

        public DateTimeOffset LastFailure { get; set; }
    }
}
