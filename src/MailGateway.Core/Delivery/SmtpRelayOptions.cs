using System.ComponentModel.DataAnnotations;

namespace MailGateway.Core.Delivery;

/// <summary>How an endpoint of the relay starts TLS.</summary>
public enum RelayTlsMode
{
    /// <summary>Connect in clear, then STARTTLS (ports 587 and 2525).</summary>
    StartTls,

    /// <summary>TLS from the first byte (port 465, RFC 8314).</summary>
    ImplicitTls,
}

/// <summary>What the gateway requires of TLS on STARTTLS endpoints.</summary>
public enum RelayTlsPolicy
{
    /// <summary>The default: STARTTLS must be offered and succeed, or the endpoint is skipped. Never plaintext.</summary>
    Required,

    /// <summary>STARTTLS when offered, clear text otherwise (credentials are still never sent in clear).</summary>
    Opportunistic,

    /// <summary>No STARTTLS at all: for a relay on loopback or a benchmark. Implicit-TLS endpoints still use TLS.</summary>
    None,
}

/// <summary>One port of the relay and how it speaks TLS.</summary>
public sealed class RelayEndpoint
{
    /// <summary>The TCP port.</summary>
    [Range(1, 65535)]
    public int Port { get; set; }

    /// <summary>How TLS starts on that port.</summary>
    public RelayTlsMode Tls { get; set; } = RelayTlsMode.StartTls;

    /// <inheritdoc />
    public override string ToString() => $"{Port}/{Tls}";
}

/// <summary>The smarthost the gateway delivers to (configuration section <c>MailGateway:Relay</c>).</summary>
public sealed class SmtpRelayOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Relay";

    /// <summary>The relay's host name (also the name its certificate must carry).</summary>
    [Required(AllowEmptyStrings = false)]
    public string Host { get; set; } = "";

    /// <summary>
    /// The ports to try, in order, when the previous one fails at connection or TLS level.
    /// Default: 587 STARTTLS, 465 implicit TLS, 2525 STARTTLS.
    /// </summary>
    public List<RelayEndpoint> Endpoints { get; set; } = [];

    /// <summary>TLS policy for STARTTLS endpoints. Default <see cref="RelayTlsPolicy.Required"/>.</summary>
    public RelayTlsPolicy TlsPolicy { get; set; } = RelayTlsPolicy.Required;

    /// <summary>The AUTH user name; empty: no AUTH.</summary>
    public string? UserName { get; set; }

    /// <summary>The AUTH password (PLAIN/LOGIN or whatever stronger mechanism the relay offers).</summary>
    public string? Password { get; set; }

    /// <summary>An OAuth 2.0 access token for XOAUTH2 instead of a password.</summary>
    public string? OAuth2AccessToken { get; set; }

    /// <summary>The name sent in EHLO; empty: the machine's host name.</summary>
    public string? HeloName { get; set; }

    /// <summary>A PEM file of extra CA certificates trusted for the relay (besides the system store).</summary>
    public string? TrustedCaBundlePath { get; set; }

    /// <summary>
    /// SHA-256 fingerprints (hex) of relay certificates to pin. When set, the relay's certificate must be one of them;
    /// a pinned certificate is trusted even when no CA vouches for it.
    /// </summary>
    public List<string> PinnedCertificateSha256 { get; set; } = [];

    /// <summary>
    /// Check certificate revocation (OCSP/CRL). Off by default: the lookups need the network and can hang where the
    /// relay is reachable but the CA's responders are not (MailKit issues #520, #1132).
    /// </summary>
    public bool CheckCertificateRevocation { get; set; }

    /// <summary>Time to connect, finish TLS, read the greeting, EHLO and AUTH on one port. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time to wait for each reply before the final dot (MAIL, RCPT, DATA) and between data writes. Default 5 min (RFC 5321 §4.5.3.2).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Time to wait for the reply to the final dot. Default 10 min (RFC 5321 §4.5.3.2.6).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How many more passes over the whole port list after every port failed to connect. Default 2.</summary>
    [Range(0, 10)]
    public int ConnectRetries { get; set; } = 2;

    /// <summary>The base delay before such a pass (exponential, jittered). Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ConnectRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Consecutive connection failures on one port before it is skipped for <see cref="BreakDuration"/>. Default 3.</summary>
    [Range(1, 1000)]
    public int BreakAfterFailures { get; set; } = 3;

    /// <summary>How long a failing port is skipped. Default 1 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>At most this many RCPT per transaction; more recipients go in further transactions. Default 100.</summary>
    [Range(1, 10_000)]
    public int MaxRecipientsPerTransaction { get; set; } = 100;

    /// <summary>
    /// SMTP connections open to the relay at once (in use or idle), per process or replica; a delivery that finds
    /// them all in use waits for one (within its attempt's timeout). Default 20. The delivery worker can run more jobs
    /// than this (<c>DeliveryWorker:Concurrency</c>): their queue and status writes do not hold a connection.
    /// </summary>
    [Range(1, 1000)]
    public int MaxConnections { get; set; } = 20;

    /// <summary>Idle connections kept for reuse (never more than <see cref="MaxConnections"/>). Default 20.</summary>
    [Range(0, 1000)]
    public int MaxIdleConnections { get; set; } = 20;

    /// <summary>An idle connection older than this is checked with NOOP before reuse. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan IdleCheckAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An idle connection older than this is closed instead of reused. Default 2 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxIdleTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A connection carries at most this many messages, then it is closed and a new one is opened (relays cap it:
    /// SendGrid 5,000 per connection; Postfix's <c>smtp_connection_reuse_count_limit</c>). 0: no limit. Default 1,000.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxMessagesPerConnection { get; set; } = 1000;

    /// <summary>
    /// The relay's sending rate: at most this many messages per <see cref="RateLimitPeriod"/>, gateway-wide for this
    /// engine (a token bucket, bursts up to the number). A delivery over the rate waits for its turn before it
    /// connects, instead of being refused and retried later. 0: no limit (the default). Example: Exchange Online's 30
    /// messages a minute per mailbox.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxMessagesPerPeriod { get; set; }

    /// <summary>The period of <see cref="MaxMessagesPerPeriod"/>. Default 1 minute.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RateLimitPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The endpoints in effect: the configured ones, or the default 587 → 465 → 2525.</summary>
    public IReadOnlyList<RelayEndpoint> EffectiveEndpoints => Endpoints.Count > 0
        ? Endpoints
        :
        [
            new RelayEndpoint { Port = 587, Tls = RelayTlsMode.StartTls },
            new RelayEndpoint { Port = 465, Tls = RelayTlsMode.ImplicitTls },
            new RelayEndpoint { Port = 2525, Tls = RelayTlsMode.StartTls },
        ];

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var endpoint in Endpoints)
        {
            if (endpoint.Port is < 1 or > 65535)
            {
                yield return new ValidationResult($"{SectionName}:Endpoints: port {endpoint.Port} is not between 1 and 65535.", [nameof(Endpoints)]);
            }
        }

        if (!string.IsNullOrEmpty(Password) && string.IsNullOrEmpty(UserName))
        {
            yield return new ValidationResult($"{SectionName}:Password is set but {SectionName}:UserName is empty.", [nameof(UserName)]);
        }

        if (!string.IsNullOrEmpty(UserName) && string.IsNullOrEmpty(Password) && string.IsNullOrEmpty(OAuth2AccessToken))
        {
            yield return new ValidationResult($"{SectionName}:UserName is set but neither Password nor OAuth2AccessToken is.", [nameof(Password)]);
        }

        if (!string.IsNullOrEmpty(TrustedCaBundlePath) && !File.Exists(TrustedCaBundlePath))
        {
            yield return new ValidationResult($"{SectionName}:TrustedCaBundlePath: file '{TrustedCaBundlePath}' not found.", [nameof(TrustedCaBundlePath)]);
        }

        foreach (var pin in PinnedCertificateSha256)
        {
            if (NormalizeFingerprint(pin).Length != 64)
            {
                yield return new ValidationResult($"{SectionName}:PinnedCertificateSha256: '{pin}' is not a SHA-256 fingerprint (64 hex digits).", [nameof(PinnedCertificateSha256)]);
            }
        }
    }

    internal static string NormalizeFingerprint(string value) =>
        new string(value.Where(Uri.IsHexDigit).ToArray()).ToUpperInvariant();
}
