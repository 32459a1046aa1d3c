using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Threading.RateLimiting;
using MailGateway.Api;
using MailGateway.Core.Keys;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace MailGateway.Dashboard;

/// <summary>Who is looking at the dashboard: a signed-in API key, or the loopback development user (no sign-in, admin).</summary>
public sealed record DashboardUser(VerifiedApiKey Key, bool SignedIn)
{
    public string Name => SignedIn ? Key.Id : "local development (no sign-in)";

    /// <summary>Every key's messages, the queue, the charts and the listener's mail.</summary>
    public bool IsAdmin => Key.Has(ApiKeyScopes.Admin);

    /// <summary>Acting on a message (cancel, replay, purge): the scope <c>send</c> on one's own, <c>admin</c> on any (the API's rule).</summary>
    public bool MayAct(string owner) => (Key.Has(ApiKeyScopes.Send) && string.Equals(owner, Key.Id, StringComparison.Ordinal)) || IsAdmin;

    /// <summary>Seeing a message: one's own with <c>read</c>, any with <c>admin</c>.</summary>
    public bool MaySee(string owner) => Key.Has(ApiKeyScopes.Read) && Key.MayAccess(owner);

    /// <summary>The owner filter of a list: null (every key's) for admin.</summary>
    public string? OwnerFilter => IsAdmin ? null : Key.Id;

    /// <summary>The words for the audit trail of an action (the reason recorded with a cancel or a replay).</summary>
    public string Actor => SignedIn ? $"from the dashboard with API key '{Key.Id}'" : "from the dashboard (local development, no sign-in)";
}

/// <summary>
/// Sign-in and sessions of the dashboard: a key is verified like the API's (<see cref="ApiKeyVerifier"/>) and the session
/// is an encrypted, HttpOnly, SameSite=Strict cookie (ASP.NET Core's cookie authentication, path <c>/ui</c>) that names
/// the key's id and a fingerprint of its configured hash: every request finds the key again, so a key removed or
/// rotated in the configuration ends its sessions, and scope changes apply at once.
/// </summary>
internal sealed class DashboardAccess(
    IOptionsMonitor<ApiKeysOptions> keys,
    IOptionsMonitor<DashboardOptions> options,
    ApiKeyVerifier verifier,
    DashboardHostInfo host,
    IServer server)
{
    public const string Scheme = "MailGateway.Dashboard";
    public const string CookieName = "mgw_dashboard";
    private const string FingerprintClaim = "mgw:key_hash";

    private static readonly VerifiedApiKey LocalKey = new("dashboard", [], [ApiKeyScopes.Admin, ApiKeyScopes.Send]);

    private bool? _loopbackOnly;

    /// <summary>True when this host lets loopback requests in without a key (<see cref="DashboardSignIn.Auto"/> on a development host).</summary>
    public bool SignInOptional => options.CurrentValue.SignIn == DashboardSignIn.Auto && host.DevelopmentKeyOnly && ListensOnLoopbackOnly();

    /// <summary>The user of this request, or null when it must sign in.</summary>
    public async Task<DashboardUser?> UserAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(Scheme);
        if (result.Succeeded && result.Principal is { } principal && Resolve(principal) is { } key)
        {
            context.User = principal;
            return new DashboardUser(key, SignedIn: true);
        }

        return SignInOptional && IsLocalRequest(context) ? new DashboardUser(LocalKey, SignedIn: false) : null;
    }

    /// <summary>Verifies a presented key; null when it is unknown.</summary>
    public VerifiedApiKey? Verify(string key) => verifier.Verify(key);

    /// <summary>Starts the session of <paramref name="key"/>.</summary>
    public Task SignInAsync(HttpContext context, VerifiedApiKey key)
    {
        var configured = keys.CurrentValue.Keys.First(k => string.Equals(k.Id, key.Id, StringComparison.Ordinal));
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, key.Id), new Claim(ClaimTypes.Name, key.Id), new Claim(FingerprintClaim, Fingerprint(configured.Sha256))],
            Scheme);
        return context.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
    }

    public Task SignOutAsync(HttpContext context) => context.SignOutAsync(Scheme);

    /// <summary>The cookie's settings.</summary>
    public static void ConfigureCookie(CookieAuthenticationOptions cookie, DashboardOptions dashboard)
    {
        cookie.Cookie.Name = CookieName;
        cookie.Cookie.Path = DashboardOptions.Path;
        cookie.Cookie.HttpOnly = true;
        cookie.Cookie.SameSite = SameSiteMode.Strict;
        cookie.Cookie.SecurePolicy = dashboard.SecureCookie ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        cookie.Cookie.IsEssential = true;
        cookie.ExpireTimeSpan = dashboard.SessionIdleTimeout;
        cookie.SlidingExpiration = true;
        // The dashboard's endpoints decide what an anonymous request gets; the handler never redirects on its own.
        cookie.Events.OnRedirectToLogin = c =>
        {
            c.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        };
        cookie.Events.OnRedirectToAccessDenied = c =>
        {
            c.Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        };
    }

    private VerifiedApiKey? Resolve(ClaimsPrincipal principal)
    {
        var id = principal.FindFirstValue(ClaimTypes.NameIdentifier);
        var fingerprint = principal.FindFirstValue(FingerprintClaim);
        var configured = keys.CurrentValue.Keys.FirstOrDefault(k => string.Equals(k.Id, id, StringComparison.Ordinal));
        if (configured is null || fingerprint is null || !string.Equals(Fingerprint(configured.Sha256), fingerprint, StringComparison.Ordinal))
        {
            return null;
        }

        var key = new VerifiedApiKey(configured.Id, configured.AllowedSenderDomains, configured.Scopes);
        return key.Has(ApiKeyScopes.Read) ? key : null;
    }

    // Not the configured hash itself: a fingerprint of it, so the cookie (encrypted anyway) carries no verifier of the key.
    private static string Fingerprint(string sha256) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes("mgw-dashboard|" + sha256.ToLowerInvariant())))[..32];

    private bool ListensOnLoopbackOnly()
    {
        if (_loopbackOnly is { } known)
        {
            return known;
        }

        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is null || addresses.Count == 0)
        {
            return false;
        }

        var all = addresses.All(IsLoopbackUrl);
        _loopbackOnly = all;
        return all;
    }

    internal static bool IsLoopbackUrl(string url)
    {
        if (!Uri.TryCreate(url.Replace("://+", "://plus", StringComparison.Ordinal).Replace("://*", "://star", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return IsLoopbackHost(uri.Host);
    }

    // A DNS-rebinding page reaches a loopback port under its own name: only loopback names are the local user.
    private static bool IsLocalRequest(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote)
        && IsLoopbackHost(context.Request.Host.Host);

    private static bool IsLoopbackHost(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }
}

/// <summary>
/// The dashboard's rate limits, from the API's settings (<see cref="RateLimitOptions"/>): sign-in attempts count
/// against the client address like requests without a valid key; a session's requests take tokens of its key's bucket.
/// </summary>
internal sealed class DashboardRateLimiter : IDisposable
{
    private readonly RateLimitOptions _options;
    private readonly PartitionedRateLimiter<string> _signIn;
    private readonly PartitionedRateLimiter<string> _pages;

    public DashboardRateLimiter(IOptions<RateLimitOptions> options)
    {
        _options = options.Value;
        var o = _options;
        _signIn = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = o.FailedAuthPerAddress,
            Window = o.FailedAuthWindow,
            QueueLimit = 0,
        }));
        _pages = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = o.PerKeyBurst,
            TokensPerPeriod = o.PerKeyRate,
            ReplenishmentPeriod = o.PerKeyPeriod,
            QueueLimit = 0,
        }));
    }

    /// <summary>Null when a sign-in attempt from <paramref name="context"/>'s address may go on, else the seconds to wait.</summary>
    public string? SignInAttempt(HttpContext context) => Take(_signIn, "addr:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown"), _options.FailedAuthWindow);

    /// <summary>Null when a request of <paramref name="user"/> may go on, else the seconds to wait.</summary>
    public string? Request(HttpContext context, DashboardUser? user) =>
        user is { SignedIn: true }
            ? Take(_pages, "key:" + user.Key.Id, _options.PerKeyPeriod)
            : Take(_pages, "addr:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown"), _options.PerKeyPeriod);

    private string? Take(PartitionedRateLimiter<string> limiter, string partition, TimeSpan fallback)
    {
        if (!_options.Enabled)
        {
            return null;
        }

        using var lease = limiter.AttemptAcquire(partition);
        if (lease.IsAcquired)
        {
            return null;
        }

        var after = lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? retry : fallback;
        return Math.Max(1, (long)Math.Ceiling(after.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        _signIn.Dispose();
        _pages.Dispose();
    }
}
