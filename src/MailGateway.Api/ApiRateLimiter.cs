using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace MailGateway.Api;

/// <summary>
/// The rate limits of every <c>/api</c> endpoint (<see cref="RateLimitOptions"/>), one partitioned limiter for every
/// host: a request with a valid API key takes a token of its key's bucket; a request without one (no key, an unknown
/// key) counts against its client address. The standalone host runs it as ASP.NET Core's rate-limiting middleware
/// (<see cref="ApiApplicationBuilderExtensions.UseMailGatewayApiDefaults"/>); the Functions host's triggers call
/// <see cref="Check"/>. The key is verified once per request (<see cref="ApiKeyAuthenticator"/> keeps the result).
/// </summary>
public sealed class ApiRateLimiter : IDisposable
{
    private static readonly RateLimitPartition<Partition> Unlimited = RateLimitPartition.GetNoLimiter(new Partition(PartitionKind.None, null, null));

    private readonly ApiKeyAuthenticator _authenticator;
    private readonly RateLimitOptions _options;
    private readonly Func<Partition, RateLimiter> _keyLimiter;
    private readonly Func<Partition, RateLimiter> _addressLimiter;

    /// <summary>Creates the limiter from the options as they are at start.</summary>
    public ApiRateLimiter(ApiKeyAuthenticator authenticator, IOptions<RateLimitOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _authenticator = authenticator;
        _options = options.Value;
        var o = _options;
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
        Limiter = PartitionedRateLimiter.Create<HttpContext, Partition>(PartitionOf);
    }

    /// <summary>The limiter (ASP.NET Core's <c>GlobalLimiter</c> in the standalone host).</summary>
    public PartitionedRateLimiter<HttpContext> Limiter { get; }

    /// <summary>Null when the request may go on; otherwise the 429 answer (for hosts without the middleware).</summary>
    public IResult? Check(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var lease = Limiter.AttemptAcquire(context);
        return lease.IsAcquired ? null : Rejection(context, lease);
    }

    /// <summary>The 429 problem for a refused request, with <c>Retry-After</c> from the lease.</summary>
    public IResult Rejection(HttpContext context, RateLimitLease lease)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(lease);
        var keyed = _authenticator.Authenticate(context.Request) is not null;
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : keyed ? _options.PerKeyPeriod : _options.FailedAuthWindow;
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var detail = keyed
            ? $"This API key made more than {_options.PerKeyBurst} requests at once or more than {_options.PerKeyRate} per {_options.PerKeyPeriod.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s. Retry after {seconds} s."
            : $"Too many requests without a valid API key from this address (more than {_options.FailedAuthPerAddress} in {_options.FailedAuthWindow.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s). Retry after {seconds} s.";
        return ApiResults.Problem(StatusCodes.Status429TooManyRequests, "Too many requests", detail,
            headers: new Dictionary<string, string> { ["Retry-After"] = seconds });
    }

    /// <inheritdoc />
    public void Dispose() => Limiter.Dispose();

    private RateLimitPartition<Partition> PartitionOf(HttpContext context)
    {
        if (!_options.Enabled || !context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            return Unlimited;
        }

        var key = _authenticator.Authenticate(context.Request);
        return key is not null
            ? RateLimitPartition.Get(new Partition(PartitionKind.Key, key.Id, null), _keyLimiter)
            : RateLimitPartition.Get(new Partition(PartitionKind.Address, null, ClientAddress(context)), _addressLimiter);
    }

    /// <summary>The client address a failed authentication counts against: IPv4 as is, IPv6 by its /64.</summary>
    internal IPAddress? ClientAddress(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (_options.TrustForwardedFor && LastForwardedFor(context.Request.Headers["X-Forwarded-For"].ToString()) is { } forwarded)
        {
            address = forwarded;
        }

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

    private static IPAddress? LastForwardedFor(string header)
    {
        if (header.Length == 0)
        {
            return null;
        }

        var last = header[(header.LastIndexOf(',') + 1)..].Trim();
        if (IPAddress.TryParse(last, out var plain))
        {
            return plain;
        }

        // "203.0.113.7:51234" or "[2001:db8::1]:51234" (App Service adds the client's port).
        return IPEndPoint.TryParse(last, out var endpoint) ? endpoint.Address : null;
    }

    private enum PartitionKind
    {
        None,
        Key,
        Address,
    }

    private readonly record struct Partition(PartitionKind Kind, string? KeyId, IPAddress? Address);
}
