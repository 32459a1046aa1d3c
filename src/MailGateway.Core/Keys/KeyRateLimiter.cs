using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Keys;

/// <summary>
/// The rate limits of <see cref="RateLimitOptions"/> as one partitioned limiter, shared by every entry point of a
/// process: a token bucket per API key (an HTTP request or an SMTP message takes one token) and a fixed window per
/// client address for attempts without a valid key (an HTTP request without one, a failed SMTP AUTH). The HTTP API and
/// SMTP submission of one host draw from the same buckets, so a key cannot double its rate by using both.
/// </summary>
public sealed class KeyRateLimiter : IDisposable
{
    private static readonly RateLimitPartition<RateLimitSubject> Unlimited = RateLimitPartition.GetNoLimiter(RateLimitSubject.None);

    private readonly Func<RateLimitSubject, RateLimiter> _keyLimiter;
    private readonly Func<RateLimitSubject, RateLimiter> _addressLimiter;

    /// <summary>Creates the limiter from the options as they are at start.</summary>
    public KeyRateLimiter(IOptions<RateLimitOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        var o = Options;

        // AutoReplenishment off: the partitioned limiter replenishes every partition from one timer.
        _keyLimiter = _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = o.PerKeyBurst,
            TokensPerPeriod = o.PerKeyRate,
            ReplenishmentPeriod = o.PerKeyPeriod,
            QueueLimit = 0,
            AutoReplenishment = false,
        });
        _addressLimiter = _ => new FixedWindowRateLimiter(new FixedWindowRateLimiterOptions
        {
            PermitLimit = o.FailedAuthPerAddress,
            Window = o.FailedAuthWindow,
            QueueLimit = 0,
            AutoReplenishment = false,
        });
        Limiter = PartitionedRateLimiter.Create<RateLimitSubject, RateLimitSubject>(PartitionOf);
    }

    /// <summary>The options the limiter was built from.</summary>
    public RateLimitOptions Options { get; }

    /// <summary>The limiter; <see cref="RateLimitSubject.None"/> is never limited.</summary>
    public PartitionedRateLimiter<RateLimitSubject> Limiter { get; }

    /// <inheritdoc />
    public void Dispose() => Limiter.Dispose();

    private RateLimitPartition<RateLimitSubject> PartitionOf(RateLimitSubject subject)
    {
        if (!Options.Enabled)
        {
            return Unlimited;
        }

        return subject.Kind switch
        {
            RateLimitSubjectKind.Key => RateLimitPartition.Get(subject, _keyLimiter),
            RateLimitSubjectKind.Address => RateLimitPartition.Get(subject, _addressLimiter),
            _ => Unlimited,
        };
    }
}

/// <summary>What a request counts against: an API key (by id), or a client address when it brought no valid key.</summary>
public readonly record struct RateLimitSubject(RateLimitSubjectKind Kind, string? KeyId, IPAddress? Address)
{
    /// <summary>Not limited (a path outside <c>/api</c>).</summary>
    public static readonly RateLimitSubject None = new(RateLimitSubjectKind.None, null, null);

    /// <summary>The bucket of the API key <paramref name="keyId"/>.</summary>
    public static RateLimitSubject ForKey(string keyId) => new(RateLimitSubjectKind.Key, keyId, null);

    /// <summary>The failed-authentication window of <paramref name="address"/> (IPv4 as is, IPv6 by its /64; an unknown address has one window of its own).</summary>
    public static RateLimitSubject ForAddress(IPAddress? address) => new(RateLimitSubjectKind.Address, null, Network(address));

    /// <summary>The address a failed authentication counts against: IPv4 as is (also IPv4-mapped), IPv6 by its /64.</summary>
    public static IPAddress? Network(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}

/// <summary>The kinds of <see cref="RateLimitSubject"/>.</summary>
public enum RateLimitSubjectKind
{
    /// <summary>Not limited.</summary>
    None,

    /// <summary>An API key's bucket.</summary>
    Key,

    /// <summary>A client address's failed-authentication window.</summary>
    Address,
}
