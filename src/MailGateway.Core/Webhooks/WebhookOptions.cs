using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using MailGateway.Core.Events;

namespace MailGateway.Core.Webhooks;

/// <summary>One webhook endpoint configured at start (<c>MailGateway:Webhooks:Endpoints:N</c>).</summary>
public sealed class WebhookEndpointOptions
{
    /// <summary>The endpoint's name: the key of its delivery state (cursor, failures); default <c>endpoint-N</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>The receiver's URL: <c>https</c>, or <c>http</c> to a loopback address when <see cref="WebhookOptions.AllowLoopback"/>.</summary>
    public string Url { get; set; } = "";

    /// <summary>The signing secret, <c>whsec_</c> and the base64 of 24 to 64 random bytes.</summary>
    public string Secret { get; set; } = "";

    /// <summary>The event types sent (<see cref="MessageEventTypes"/>); empty for all.</summary>
    public List<string> EventTypes { get; set; } = [];

    /// <summary>The API key whose messages' events are sent; empty for every key's.</summary>
    public string KeyId { get; set; } = "";
}

/// <summary>Webhook delivery (<c>MailGateway:Webhooks</c>): endpoints, timeouts, the retry schedule and the address policy.</summary>
public sealed class WebhookOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Webhooks";

    /// <summary>
    /// The waits before the 2nd, 3rd, … attempt of an event that was not answered with a 2xx (Standard Webhooks'
    /// schedule, extended to about three days): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h — ten attempts
    /// over 75 h 35 min. After the last one fails the endpoint is disabled.
    /// </summary>
    public static readonly IReadOnlyList<TimeSpan> RetrySchedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
        TimeSpan.FromHours(10), TimeSpan.FromHours(14), TimeSpan.FromHours(20), TimeSpan.FromHours(24),
    ];

    /// <summary>The endpoints.</summary>
    public List<WebhookEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>How long a receiver has to answer (connect, send, response headers); default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:02:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often an idle endpoint looks for new events; default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most response-body bytes read from a receiver (the rest is not read); default 4 KiB.</summary>
    [Range(0, 1024 * 1024)]
    public int MaxResponseBytes { get; set; } = 4096;

    /// <summary>
    /// Scales <see cref="RetrySchedule"/> (1 = as documented). Only for tests and drills: 0.001 makes three days
    /// about four minutes.
    /// </summary>
    [Range(0.0, 1.0)]
    public double RetryScale { get; set; } = 1.0;

    /// <summary>The most endpoints one API key may create through the API; default 10.</summary>
    [Range(1, 1000)]
    public int MaxEndpointsPerKey { get; set; } = 10;

    /// <summary>
    /// How long the previous secret still signs after <c>rotate-secret</c> (deliveries carry both signatures); default
    /// 24 h.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan SecretRotationGrace { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Allows loopback receivers, in <c>http</c> too (development and tests); default false.</summary>
    public bool AllowLoopback { get; set; }

    /// <summary>Allows private, shared (CGNAT), unique-local and link-local addresses, cloud metadata included; default false.</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>The wait before attempt <paramref name="failures"/> + 1, or null after the last one.</summary>
    public TimeSpan? RetryDelay(int failures) =>
        failures >= 1 && failures <= RetrySchedule.Count ? RetrySchedule[failures - 1] * RetryScale : null;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Endpoints.Count; i++)
        {
            var endpoint = Endpoints[i];
            var at = "Endpoints:" + i.ToString(CultureInfo.InvariantCulture);
            if (!names.Add(NameOf(i)))
            {
                yield return new ValidationResult($"{at}:Name: '{NameOf(i)}' is used twice.", [nameof(Endpoints)]);
            }

            if (NameOf(i).StartsWith(WebhookDefinition.IdPrefix, StringComparison.Ordinal))
            {
                yield return new ValidationResult($"{at}:Name: '{WebhookDefinition.IdPrefix}' starts the ids of endpoints created through the API.", [nameof(Endpoints)]);
            }

            if (UrlProblem(endpoint.Url) is { } problem)
            {
                yield return new ValidationResult($"{at}:Url: {problem}", [nameof(Endpoints)]);
            }

            if (!WebhookSignature.TryParseSecret(endpoint.Secret, out _))
            {
                yield return new ValidationResult($"{at}:Secret: a secret is whsec_ and the base64 of 24 to 64 bytes.", [nameof(Endpoints)]);
            }

            foreach (var type in endpoint.EventTypes.Where(t => !MessageEventTypes.All.Contains(t, StringComparer.Ordinal)))
            {
                yield return new ValidationResult($"{at}:EventTypes: '{type}' is not an event type ({string.Join(", ", MessageEventTypes.All)}).", [nameof(Endpoints)]);
            }
        }
    }

    /// <summary>The name of endpoint <paramref name="index"/>: its <see cref="WebhookEndpointOptions.Name"/>, or <c>endpoint-N</c>.</summary>
    public string NameOf(int index) =>
        string.IsNullOrWhiteSpace(Endpoints[index].Name) ? "endpoint-" + index.ToString(CultureInfo.InvariantCulture) : Endpoints[index].Name;

    /// <summary>Why <paramref name="url"/> cannot be a receiver under these options, or null when it can.</summary>
    public string? UrlProblem(string? url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || url!.Length > 2048)
        {
            return "an absolute https URL of at most 2048 characters is required.";
        }

        // An '@' in the authority as written: Uri.UserInfo is empty for "https://@host/".
        var authority = url.AsSpan(url.IndexOf(':', StringComparison.Ordinal) + 1).TrimStart("/\\");
        var authorityEnd = authority.IndexOfAny("/\\?#");
        if (!string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Fragment) || (authorityEnd < 0 ? authority : authority[..authorityEnd]).Contains('@'))
        {
            return "a URL with user info or a fragment is refused.";
        }

        var loopback = uri.IsLoopback;
        if (uri.Scheme == "http" && !(loopback && AllowLoopback))
        {
            return "plain http is refused except to a loopback address with AllowLoopback (development).";
        }

        // Without its trailing dots: "127.0.0.1." is the address to a resolver, but not to IPAddress.TryParse.
        if (IPAddress.TryParse(uri.DnsSafeHost.TrimEnd('.'), out var address) && !WebhookAddressPolicy.Allows(address, this))
        {
            return $"the address {address} is refused (loopback, private, link-local and metadata addresses need AllowLoopback / AllowPrivateNetworks).";
        }

        return loopback && !AllowLoopback ? "a loopback receiver needs AllowLoopback." : null;
    }
}

/// <summary>The SSRF rule: which addresses a webhook may connect to, checked on every connection after DNS resolution.</summary>
public static class WebhookAddressPolicy
{
    /// <summary>True when <paramref name="address"/> may be connected to under <paramref name="options"/>.</summary>
    public static bool Allows(IPAddress address, WebhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(options);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return options.AllowLoopback;
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast) || IsMulticastOrReserved(address))
        {
            return false;
        }

        return !IsPrivate(address) || options.AllowPrivateNetworks;
    }

    private static bool IsPrivate(IPAddress address)
    {
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 10
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254)              // link-local, 169.254.169.254 metadata
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) // shared address space (CGNAT), 100.100.100.200 metadata
                || b[0] == 0;
        }

        var v6 = address.GetAddressBytes();
        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal // fd00:ec2::254 metadata
            || (v6[0] == 0x20 && v6[1] == 0x02)  // 6to4 can embed a private IPv4 address
            || (v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b); // NAT64 likewise
    }

    // IPv6: multicast, and ::/96 — the deprecated IPv4-compatible addresses (RFC 4291 2.5.5.1), never a public
    // receiver, which would otherwise carry a private IPv4 address past the IPv4 rules (::10.0.0.1).
    private static bool IsMulticastOrReserved(IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? address.GetAddressBytes()[0] >= 224
            : address.IsIPv6Multicast || address.GetAddressBytes().AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0;
}
