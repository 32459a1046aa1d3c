using System.ComponentModel.DataAnnotations;
using System.Net;

namespace MailGateway.Listener.Submission;

/// <summary>
/// SMTP submission (RFC 6409), configuration section <c>MailGateway:Submission</c>: the listener's second role, where
/// applications send with an API key (AUTH PLAIN/LOGIN over TLS: user name = the key's id, password = the key) and
/// each message goes through the same accept port as the HTTP API. Size and recipient limits are those of
/// <c>MailGateway:Messages</c>, rate limits those of <c>MailGateway:RateLimits</c>; the certificate is the listener's.
/// </summary>
public sealed class SubmissionListenerOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Submission";

    /// <summary>Run the submission listener. Default true (a host without a certificate for it must turn it off).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Host name in the greeting, the EHLO reply and the Received header. Default localhost.</summary>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9]([A-Za-z0-9.\-]{0,252}[A-Za-z0-9])?$", ErrorMessage = "MailGateway:Submission:ServerName must be a host name.")]
    public string ServerName { get; set; } = "localhost";

    /// <summary>
    /// Listening endpoints; when none is configured the host's defaults are used (587 with STARTTLS and 465 with
    /// implicit TLS; the standalone host binds them to 127.0.0.1). Every endpoint requires authentication.
    /// </summary>
    public List<InboundEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>Concurrent connections over all endpoints. Default 200.</summary>
    [Range(1, 100_000)]
    public int MaxConnections { get; set; } = 200;

    /// <summary>Concurrent connections from one client IP address (IPv6: also per /64). Default 50.</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerClient { get; set; } = 50;

    /// <summary>Longest wait for a command line, a TLS handshake or the next bytes of DATA. Default 5 minutes.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Failed AUTH attempts in one session before it is closed. Default 3.</summary>
    [Range(1, 100)]
    public int MaxAuthenticationAttempts { get; set; } = 3;

    /// <summary>How long the answer to a failed AUTH is held back (doubling per further failure, up to 16 times). Default 1 s.</summary>
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Failed AUTH attempts per client address after which AUTH is refused (454) for <see cref="AuthLockoutDuration"/>,
    /// on top of <c>MailGateway:RateLimits:FailedAuthPerAddress</c> (shared with the HTTP API). Default 10.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxAuthFailuresPerClient { get; set; } = 10;

    /// <summary>How long failed AUTH attempts are remembered per client address. Default 15 minutes.</summary>
    public TimeSpan AuthLockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        const string p = SectionName + ":";
        if (!Enabled)
        {
            yield break;
        }

        if (Endpoints.Count == 0)
        {
            yield return new ValidationResult($"{p}Endpoints must list at least one endpoint.", [nameof(Endpoints)]);
        }

        for (var i = 0; i < Endpoints.Count; i++)
        {
            if (Endpoints[i].Port is < 0 or > 65535)
            {
                yield return new ValidationResult($"{p}Endpoints:{i}:Port must be 0-65535.", [nameof(Endpoints)]);
            }

            if (!IPAddress.TryParse(Endpoints[i].Address, out _))
            {
                yield return new ValidationResult($"{p}Endpoints:{i}:Address must be an IP address.", [nameof(Endpoints)]);
            }
        }

        if (CommandTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult($"{p}CommandTimeout must be positive.", [nameof(CommandTimeout)]);
        }

        if (AuthFailureDelay < TimeSpan.Zero || AuthFailureDelay > TimeSpan.FromSeconds(15))
        {
            yield return new ValidationResult($"{p}AuthFailureDelay must be between 00:00:00 and 00:00:15.", [nameof(AuthFailureDelay)]);
        }

        if (AuthLockoutDuration <= TimeSpan.Zero || AuthLockoutDuration > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult($"{p}AuthLockoutDuration must be positive and at most one day.", [nameof(AuthLockoutDuration)]);
        }

        if (MaxConnectionsPerClient > MaxConnections)
        {
            yield return new ValidationResult($"{p}MaxConnectionsPerClient must not exceed {p}MaxConnections.", [nameof(MaxConnectionsPerClient)]);
        }
    }

    /// <summary>True when every endpoint binds a loopback address (a generated development certificate is enough then).</summary>
    public bool IsLoopbackOnly => Endpoints.All(e => IPAddress.TryParse(e.Address, out var a) && IPAddress.IsLoopback(a));

    /// <summary>The listener settings of the submission role, with the message limits of <c>MailGateway:Messages</c>.</summary>
    internal InboundListenerOptions ToListenerOptions(long maxMessageBytes, int maxRecipients)
    {
        var listener = new InboundListenerOptions
        {
            ServerName = ServerName,
            Endpoints = [.. Endpoints.Select(e => new InboundEndpointOptions { Address = e.Address, Port = e.Port, ImplicitTls = e.ImplicitTls, RequireAuthentication = true })],
            MaxMessageSize = (int)Math.Min(maxMessageBytes, int.MaxValue),
            MaxRecipients = maxRecipients,
            MaxConnections = MaxConnections,
            MaxConnectionsPerClient = MaxConnectionsPerClient,
            MaxConnectionsPerIPv6Prefix = MaxConnectionsPerClient,
            CommandTimeout = CommandTimeout,
            MaxAuthenticationAttempts = MaxAuthenticationAttempts,
            AuthFailureDelay = AuthFailureDelay,
            MaxAuthFailuresPerClient = MaxAuthFailuresPerClient,
            AuthLockoutDuration = AuthLockoutDuration,
        };
        listener.StressCommandTimeout = listener.StressCommandTimeout > CommandTimeout ? CommandTimeout : listener.StressCommandTimeout;
        return listener;
    }
}
