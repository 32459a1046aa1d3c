using SmtpServer.Protocol;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Checks a raw command line before anything parses it: control characters get 501 (5.1.3 in MAIL/RCPT, whose
/// paths the library would otherwise accept them in through quoted local parts; 5.5.2 elsewhere).
/// </summary>
internal static class CommandLineCheck
{
    public static readonly SmtpResponse ControlCharacters = new(SmtpReplyCode.SyntaxError, "5.5.2 Syntax error: control characters in command");

    /// <summary>The refusal for <paramref name="line"/> (without its CRLF), or null.</summary>
    public static SmtpResponse? Check(ReadOnlySpan<byte> line, bool isPath)
    {
        foreach (var b in line)
        {
            if ((b < 0x20 && b != '\t') || b == 0x7F)
            {
                return isPath ? Replies.BadAddressSyntax : ControlCharacters;
            }
        }

        return null;
    }
}
