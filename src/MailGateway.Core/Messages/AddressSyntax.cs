using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MailGateway.Core.Messages;

/// <summary>
/// RFC 5321 mailbox syntax (with RFC 6531 UTF-8 local-parts and IDN domains): <c>local-part@domain</c>, where the
/// local-part is a dot-atom or a quoted string and the domain a host name or an address literal.
/// </summary>
public static class AddressSyntax
{
    /// <summary>RFC 5321 §4.5.3.1.1.</summary>
    public const int MaxLocalPartOctets = 64;

    /// <summary>RFC 5321 §4.5.3.1.2.</summary>
    public const int MaxDomainOctets = 255;

    /// <summary>RFC 5321 §4.5.3.1.3, including the angle brackets.</summary>
    public const int MaxPathOctets = 256;

    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    /// <summary>Checks one address; returns the validation code of the first problem, or null when it is valid.</summary>
    public static string? Check(string? address)
    {
        if (string.IsNullOrEmpty(address))
        {
            return ValidationCodes.Required;
        }

        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
        {
            return ValidationCodes.InvalidAddress;
        }

        var local = address[..at];
        var domain = address[(at + 1)..];
        if (Encoding.UTF8.GetByteCount(domain) > MaxDomainOctets && IsValidLocalPart(local))
        {
            return ValidationCodes.DomainTooLong;
        }

        if (!IsValidLocalPart(local) || !IsValidDomain(domain, out var asciiDomain))
        {
            return ValidationCodes.InvalidAddress;
        }

        if (Encoding.UTF8.GetByteCount(local) > MaxLocalPartOctets)
        {
            return ValidationCodes.LocalPartTooLong;
        }

        if (asciiDomain.Length > MaxDomainOctets)
        {
            return ValidationCodes.DomainTooLong;
        }

        return Encoding.UTF8.GetByteCount(address) + 2 > MaxPathOctets ? ValidationCodes.PathTooLong : null;
    }

    /// <summary>The domain of a valid address, lower-cased and in its ASCII (punycode) form.</summary>
    public static string AsciiDomainOf(string address)
    {
        var domain = address[(address.LastIndexOf('@') + 1)..];
        return (domain.StartsWith('[') ? domain : Idn.GetAscii(domain)).ToLowerInvariant();
    }

    private static bool IsValidLocalPart(string local)
    {
        if (local.Length >= 2 && local[0] == '"' && local[^1] == '"')
        {
            return IsValidQuotedString(local.AsSpan(1, local.Length - 2));
        }

        // dot-atom: atoms separated by single dots, no leading or trailing dot.
        if (local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in local)
        {
            if (c != '.' && !IsAtext(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsValidQuotedString(ReadOnlySpan<char> content)
    {
        for (var i = 0; i < content.Length; i++)
        {
            var c = content[i];
            if (c == '\\')
            {
                // quoted-pair: backslash then a printable ASCII character or space.
                if (++i >= content.Length || content[i] < 0x20 || content[i] > 0x7E)
                {
                    return false;
                }
            }
            else if (c == '"' || c < 0x20 || c == 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAtext(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
            or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '/' or '=' or '?' or '^' or '_' or '`'
            or '{' or '|' or '}' or '~'
        || (c > 0x7F && !char.IsControl(c) && !char.IsWhiteSpace(c)); // RFC 6531 UTF-8 atext

    private static bool IsValidDomain(string domain, out string ascii)
    {
        ascii = domain;
        if (domain.StartsWith('['))
        {
            return IsValidAddressLiteral(domain);
        }

        if (domain.EndsWith('.'))
        {
            return false;
        }

        try
        {
            ascii = Idn.GetAscii(domain);
        }
        catch (ArgumentException)
        {
            return false;
        }

        var labels = ascii.Split('.');
        foreach (var label in labels)
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-'))
                {
                    return false;
                }
            }
        }

        // A dotted-quad is not a host name; it must be written as an address literal.
        return !IPAddress.TryParse(ascii, out _);
    }

    private static bool IsValidAddressLiteral(string domain)
    {
        if (domain.Length < 3 || domain[^1] != ']')
        {
            return false;
        }

        var inner = domain[1..^1];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.TryParse(inner[5..], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        }

        return IPAddress.TryParse(inner, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork
            && inner.Count(c => c == '.') == 3;
    }
}
