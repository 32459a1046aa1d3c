using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MailGateway.Listener.Smtp;

/// <summary>The trace header prepended to every stored message (RFC 5321 section 4.4, RFC 3848 protocol names).</summary>
internal static class ReceivedHeader
{
    public static byte[] Build(string? helo, IPAddress client, string serverName, bool esmtp, bool tls, bool authenticated, string? tlsProtocol, string id, DateTimeOffset date)
    {
        var protocol = esmtp ? "ESMTP" + (tls ? "S" : "") + (authenticated ? "A" : "") : "SMTP";
        var address = client.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6:" + client : client.ToString();
        var builder = new StringBuilder(256)
            .Append("Received: from ").Append(Sanitize(helo)).Append(" ([").Append(address).Append("])\r\n")
            .Append("\tby ").Append(serverName).Append(" with ").Append(protocol).Append(" id ").Append(id);
        if (tls && tlsProtocol is not null)
        {
            builder.Append("\r\n\t(using ").Append(tlsProtocol).Append(')');
        }

        builder.Append(";\r\n\t").Append(date.UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture)).Append("\r\n");
        return Encoding.ASCII.GetBytes(builder.ToString());
    }

    // The HELO name is client input: printable ASCII without comment delimiters, bounded.
    internal static string Sanitize(string? helo)
    {
        if (string.IsNullOrEmpty(helo))
        {
            return "unknown";
        }

        var builder = new StringBuilder(Math.Min(helo.Length, 255));
        foreach (var c in helo)
        {
            if (builder.Length == 255)
            {
                break;
            }

            builder.Append(c is > ' ' and < (char)127 and not '(' and not ')' and not '\\' ? c : '?');
        }

        return builder.ToString();
    }
}
