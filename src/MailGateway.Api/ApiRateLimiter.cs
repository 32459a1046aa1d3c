using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using MailGateway.Core.Keys;
using Microsoft.AspNetCore.Http;

namespace MailGateway.Api;

/// <summary>
/// The rate limits of every <c>/api</c> endpoint (<see cref="RateLimitOptions"/>), one partitioned limiter for every
/// host: a request with a valid API key takes a token of its key's bucket; a request without one (no key, an unknown
/// key) counts against its client address. The standalone host runs it as ASP.NET Core's rate-limiting middleware
/// (<see cref="ApiApplicationBuilderExtensions.UseMailGatewayApiDefaults"/>); the Functions host's triggers call
/// <see cref="Check"/>. The key is verified once per request (<see cref="ApiKeyAuthenticator"/> keeps the result). The
/// buckets are Core's <see cref="KeyRateLimiter"/>, shared with SMTP submission in the same process.
/// </summary>
public sealed class ApiRateLimiter : IDisposable
{
    private readonly ApiKeyAuthenticator _authenticator;
    private readonly RateLimitOptions _options;

    /// <summary>Creates the HTTP view of the shared limiter.</summary>
    public ApiRateLimiter(ApiKeyAuthenticator authenticator, KeyRateLimiter limiter)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        _authenticator = authenticator;
        _options = limiter.Options;
        Limiter = limiter.Limiter.WithTranslatedKey<HttpContext>(SubjectOf, leaveOpen: true);
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

    private RateLimitSubject SubjectOf(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            return RateLimitSubject.None;
        }

        var key = _authenticator.Authenticate(context.Request);
        return key is not null ? RateLimitSubject.ForKey(key.Id) : RateLimitSubject.ForAddress(ClientAddress(context));
    }

    /// <summary>The client address a failed authentication counts against: IPv4 as is, IPv6 by its /64.</summary>
    internal IPAddress? ClientAddress(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (_options.TrustForwardedFor && LastForwardedFor(context.Request.Headers["X-Forwarded-For"].ToString()) is { } forwarded)
        {
            address = forwarded;
        }

        return RateLimitSubject.Network(address);
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
}
