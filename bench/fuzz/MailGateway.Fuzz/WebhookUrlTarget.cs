using System.Net;
using System.Net.Sockets;
using System.Text;
using MailGateway.Core.Webhooks;

namespace MailGateway.Fuzz;

/// <summary>
/// The webhook URL check (<see cref="WebhookOptions.UrlProblem"/>) and the address rule the connect step applies after
/// DNS (<see cref="WebhookAddressPolicy.Allows"/>, what WebhookSender.ConnectAsync calls per address; the connect step
/// itself needs a socket). The first byte sets AllowLoopback (bit 0) and AllowPrivateNetworks (bit 1); the rest is the
/// URL, and its first 16 bytes (or 4, bit 2) are also an address for the policy.
/// </summary>
internal static class WebhookUrlTarget
{
    public static void Run(byte[] input)
    {
        var flags = input.Length > 0 ? input[0] : 0;
        var options = new WebhookOptions { AllowLoopback = (flags & 1) != 0, AllowPrivateNetworks = (flags & 2) != 0 };
        var rest = input.Length > 0 ? input.AsSpan(1) : [];
        var url = Encoding.UTF8.GetString(rest);
        var problem = options.UrlProblem(url);
        if (problem is null)
        {
            Accepted(url, options);
        }
        else if (problem.Length == 0)
        {
            throw new ContractViolation("an empty problem");
        }

        var size = (flags & 4) != 0 ? 4 : 16;
        if (rest.Length >= size)
        {
            var address = new IPAddress(rest[..size]);
            if (WebhookAddressPolicy.Allows(address, options) && Refused(address, options) is { } why)
            {
                throw new ContractViolation($"the connect step allows {address} ({why})");
            }
        }
    }

    private static void Accepted(string url, WebhookOptions options)
    {
        if (url.Length > 2048)
        {
            throw new ContractViolation($"a URL of {url.Length} characters");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new ContractViolation("not an absolute URL");
        }

        if (!(uri.Scheme == "https" || (uri.Scheme == "http" && options.AllowLoopback && uri.IsLoopback)))
        {
            throw new ContractViolation($"scheme {uri.Scheme} to {uri.Host}");
        }

        if (uri.UserInfo.Length > 0 || url.Contains('#', StringComparison.Ordinal))
        {
            throw new ContractViolation("user info or a fragment");
        }

        // The authority as written (before the first '/', '\', '?' or '#' after the scheme): no '@'.
        var afterScheme = url[(url.IndexOf(':', StringComparison.Ordinal) + 1)..].TrimStart('/', '\\');
        var end = afterScheme.IndexOfAny(['/', '\\', '?', '#']);
        if ((end < 0 ? afterScheme : afterScheme[..end]).Contains('@', StringComparison.Ordinal))
        {
            throw new ContractViolation("an '@' in the authority");
        }

        if (uri.IsLoopback && !options.AllowLoopback)
        {
            throw new ContractViolation($"loopback host {uri.Host}");
        }

        // A host that is an address literal (as Uri reads it, or as a resolver would read the name: trailing dot, zone).
        foreach (var host in new[] { uri.DnsSafeHost, uri.DnsSafeHost.TrimEnd('.'), uri.Host.Trim('[', ']') })
        {
            if (IPAddress.TryParse(host, out var address) && Refused(address, options) is { } why)
            {
                throw new ContractViolation($"host {uri.Host} is {address} ({why})");
            }
        }
    }

    /// <summary>Why the address must be refused under the options (an independent list, IANA special-purpose ranges), or null.</summary>
    private static string? Refused(IPAddress address, WebhookOptions options)
    {
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var zeros10 = b.AsSpan(0, 10).IndexOfAnyExcept((byte)0) < 0;
            if (zeros10 && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0 && (b[12] | b[13]) != 0)))
            {
                // IPv4-mapped, and IPv4-compatible (deprecated ::a.b.c.d): the IPv4 rule.
                return Refused(new IPAddress(b.AsSpan(12, 4)), options);
            }

            if (b.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            {
                return "unspecified";
            }

            if (b.AsSpan(0, 15).IndexOfAnyExcept((byte)0) < 0 && b[15] == 1)
            {
                return options.AllowLoopback ? null : "loopback";
            }

            if (b[0] == 0xff)
            {
                return "multicast";
            }

            if (options.AllowPrivateNetworks)
            {
                return null;
            }

            if ((b[0] & 0xfe) == 0xfc)
            {
                return "unique-local";
            }

            if (b[0] == 0xfe && (b[1] & 0xc0) is 0x80 or 0xc0)
            {
                return "link-local or site-local";
            }

            if (b[0] == 0x20 && b[1] == 0x02 && Refused(new IPAddress(b.AsSpan(2, 4)), options) is { } sixToFour)
            {
                return "6to4 of " + sixToFour;
            }

            if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && Refused(new IPAddress(b.AsSpan(12, 4)), options) is { } nat64)
            {
                return "NAT64 of " + nat64;
            }

            return null;
        }

        if (b[0] == 127)
        {
            return options.AllowLoopback ? null : "loopback";
        }

        if (b[0] >= 224)
        {
            return "multicast, reserved or broadcast";
        }

        if (b.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            return "unspecified (connects to this host)";
        }

        if (options.AllowPrivateNetworks)
        {
            return null;
        }

        return b[0] is 0 or 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && (b[1] & 0xc0) == 64)
            ? "this network, private, shared or link-local"
            : null;
    }
}
