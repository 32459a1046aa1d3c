using System.Buffers;
using System.Text;
using SmtpServer.Protocol;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Checks a raw command line before the library parses it: the library answers an unparsable address with
/// 502 and lets control characters through quoted local-parts, so MAIL/RCPT paths with control characters get
/// 501 and path-like parts (".." or "/") get 553 here; the mailbox filter checks again after unescaping.
/// </summary>
internal static class CommandLineCheck
{
    private static readonly SmtpResponse ControlCharacters = new(SmtpReplyCode.SyntaxError, "5.5.2 Syntax error: control characters in command");

    public static SmtpResponse? Check(ReadOnlySequence<byte> lineWithoutLf)
    {
        var line = lineWithoutLf.IsSingleSegment ? lineWithoutLf.FirstSpan : lineWithoutLf.ToArray();
        if (line.Length > 0 && line[^1] == '\r')
        {
            line = line[..^1];
        }

        var isPath = StartsWith(line, "MAIL FROM:"u8) || StartsWith(line, "RCPT TO:"u8);
        foreach (var b in line)
        {
            if ((b < 0x20 && b != '\t') || b == 0x7F)
            {
                return isPath ? Replies.BadAddressSyntax : ControlCharacters;
            }
        }

        if (isPath)
        {
            var open = line.IndexOf((byte)'<');
            var close = line.LastIndexOf((byte)'>');
            if (open >= 0 && close > open)
            {
                var path = line[(open + 1)..close];
                if (path.IndexOf(".."u8) >= 0 || path.IndexOf((byte)'/') >= 0)
                {
                    return Replies.MailboxNameNotAllowed;
                }
            }
        }

        return null;
    }

    private static bool StartsWith(ReadOnlySpan<byte> line, ReadOnlySpan<byte> prefix) =>
        line.Length >= prefix.Length && Ascii.EqualsIgnoreCase(line[..prefix.Length], prefix);
}
