using System.Net.Sockets;
using System.Text.RegularExpressions;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Polly.Timeout;

namespace MailGateway.Core.Delivery;

/// <summary>SMTP replies as values: MailKit's exceptions and responses turned into <see cref="SmtpReply"/>.</summary>
internal static partial class SmtpReplies
{
    public static SmtpReply ToReply(SmtpCommandException ex) => new((int)ex.StatusCode, ParseEnhanced(ex.Message, out var text), text);

    public static string? ParseEnhanced(string response, out string text)
    {
        var match = EnhancedCode().Match(response);
        text = match.Success ? response[match.Length..].TrimStart() : response;
        return match.Success ? match.Groups[1].Value : null;
    }

    public static bool IsPositive(this SmtpReply reply) => reply.Code is >= 200 and < 400;

    [GeneratedRegex(@"^([245]\.\d{1,3}\.\d{1,3})\b")]
    private static partial Regex EnhancedCode();
}

/// <summary>Which exceptions mean what for the relay connection.</summary>
internal static class RelayErrors
{
    /// <summary>A failure that moves on to the next port: nothing was decided by a server that answered.</summary>
    public static bool IsConnectionLevel(Exception ex) => ex is SocketException or IOException or TimeoutRejectedException
        or SslHandshakeException or System.Security.Authentication.AuthenticationException or SmtpCommandException
        or SmtpProtocolException or NotSupportedException or ServiceNotConnectedException or RelayConnectException;

    /// <summary>The connection is gone (or unusable).</summary>
    public static bool IsNetworkFailure(Exception ex) => ex is SocketException or IOException or SmtpProtocolException
        or ServiceNotConnectedException or SslHandshakeException;

    public static string Describe(Exception ex) => ex switch
    {
        SocketException s => $"connect failed ({s.SocketErrorCode})",
        TimeoutRejectedException => "connect timed out",
        SslHandshakeException => "TLS handshake failed (certificate not trusted or no common protocol)",
        NotSupportedException => "STARTTLS not offered while TLS is required",
        SmtpCommandException c => "refused at connect: " + SmtpReplies.ToReply(c),
        _ => ex.Message,
    };
}
