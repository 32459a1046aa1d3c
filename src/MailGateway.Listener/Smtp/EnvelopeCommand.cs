using System.Text;
using SmtpServer.Protocol;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Our own reading of MAIL FROM and RCPT TO (RFC 5321 section 4.1.2, with RFC 6531's UTF-8 when the transaction
/// asked for SMTPUTF8). SmtpServer never sees a client's path: its parser unescapes quoted local parts with
/// <c>Regex.Unescape</c> (C# escapes, not quoted pairs: <c>"\q"</c> throws and ends the session without a reply,
/// <c>"\x61"</c> becomes <c>a</c>, the quotes are dropped) and decodes invalid UTF-8 lossily. So the line the library
/// parses carries a placeholder path, and the mailbox it creates is bound to the path read here
/// (<see cref="EnvelopeAddress"/>), which keeps the address exactly as it was sent.
/// </summary>
internal static class EnvelopeCommand
{
    private static readonly byte[] MailPrefix = "MAIL FROM:<mgw@envelope.invalid>"u8.ToArray();
    private static readonly byte[] RcptPrefix = "RCPT TO:<mgw@envelope.invalid>"u8.ToArray();
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>MAIL or RCPT, when <paramref name="line"/> (without its CRLF) is one; the library would read it as such.</summary>
    public static EnvelopeVerb? VerbOf(ReadOnlySpan<byte> line)
    {
        // The library's first token is a run of letters (and bytes >= 0x80): "MAILX" is not MAIL, "MAIL\t" is.
        if (line.Length < 4 || (line.Length > 4 && IsLibraryText(line[4])))
        {
            return null;
        }

        return Ascii.EqualsIgnoreCase(line[..4], "MAIL"u8) ? EnvelopeVerb.Mail
            : Ascii.EqualsIgnoreCase(line[..4], "RCPT"u8) ? EnvelopeVerb.Rcpt
            : null;
    }

    /// <summary>
    /// Reads a MAIL or RCPT line (without its CRLF). <paramref name="utf8Allowed"/>: RCPT in a transaction whose MAIL
    /// had the SMTPUTF8 parameter (MAIL decides from its own parameters).
    /// </summary>
    public static EnvelopeParse Parse(EnvelopeVerb verb, ReadOnlySpan<byte> line, bool utf8Allowed)
    {
        var i = 4;
        SkipWhiteSpace(line, ref i);
        var keyword = verb == EnvelopeVerb.Mail ? "FROM:"u8 : "TO:"u8;
        if (line.Length - i < keyword.Length || !Ascii.EqualsIgnoreCase(line.Slice(i, keyword.Length), keyword))
        {
            return EnvelopeParse.Refused(Replies.EnvelopeSyntax);
        }

        i += keyword.Length;
        SkipWhiteSpace(line, ref i);
        var pathStart = i;
        var readable = TryReadPath(line, ref i, allowNull: verb == EnvelopeVerb.Mail, out var localPart, out var domain);

        // Path-like parts are refused as such (553), also where they break the syntax as well ("a..b"); only the path
        // counts, not the parameters after it (ENVID=a/b).
        var close = line[pathStart..].IndexOf((byte)'>');
        var pathEnd = readable ? i : close >= 0 ? pathStart + close + 1 : line.Length;
        var raw = line[pathStart..pathEnd];
        if (raw.IndexOf(".."u8) >= 0 || raw.Contains((byte)'/'))
        {
            return EnvelopeParse.Refused(Replies.MailboxNameNotAllowed);
        }

        if (!readable)
        {
            return EnvelopeParse.Refused(Replies.BadAddressSyntax);
        }

        var parameters = line[i..];
        if (!TryReadParameters(parameters, out var smtpUtf8))
        {
            return EnvelopeParse.Refused(Replies.EnvelopeSyntax);
        }

        if (verb == EnvelopeVerb.Mail)
        {
            utf8Allowed = smtpUtf8;
        }

        var path = line[pathStart..i];
        var ascii = Ascii.IsValid(path);
        string? local = null, host = null, decoded = null;
        if (localPart.Length > 0)
        {
            try
            {
                local = StrictUtf8.GetString(localPart);
                host = StrictUtf8.GetString(domain);
            }
            catch (DecoderFallbackException)
            {
                return EnvelopeParse.Refused(Replies.InvalidUtf8Address);
            }

            if (!ascii && !utf8Allowed)
            {
                return EnvelopeParse.Refused(Replies.NonAsciiWithoutSmtpUtf8);
            }

            decoded = Unquote(local);
            if (decoded.Length == 0 || decoded.Any(char.IsControl) || host.Any(char.IsControl))
            {
                return EnvelopeParse.Refused(Replies.BadAddressSyntax);
            }

            if (IsPathLike(decoded) || IsPathLike(host))
            {
                return EnvelopeParse.Refused(Replies.MailboxNameNotAllowed);
            }
        }

        var envelope = local is null ? new EnvelopePath("", "", "", smtpUtf8) : new EnvelopePath(local, host!, decoded!, smtpUtf8);

        // The library parses this line: our placeholder path and the client's parameters (checked above: ASCII, its grammar).
        var prefix = verb == EnvelopeVerb.Mail ? MailPrefix : RcptPrefix;
        var rewritten = new byte[prefix.Length + parameters.Length + 2];
        prefix.CopyTo(rewritten, 0);
        parameters.CopyTo(rewritten.AsSpan(prefix.Length));
        rewritten[^2] = (byte)'\r';
        rewritten[^1] = (byte)'\n';
        return new EnvelopeParse(envelope, rewritten, null);
    }

    // Path = "<" [ A-d-l ":" ] Mailbox ">"; the source route (A-d-l) is read and ignored (RFC 5321 appendix C).
    private static bool TryReadPath(ReadOnlySpan<byte> s, ref int i, bool allowNull, out ReadOnlySpan<byte> localPart, out ReadOnlySpan<byte> domain)
    {
        localPart = domain = default;
        if (!Take(s, ref i, (byte)'<'))
        {
            return false;
        }

        if (allowNull && Take(s, ref i, (byte)'>'))
        {
            return true;
        }

        if (At(s, i) == '@')
        {
            do
            {
                if (!Take(s, ref i, (byte)'@') || !TryReadDomain(s, ref i))
                {
                    return false;
                }
            }
            while (Take(s, ref i, (byte)','));

            if (!Take(s, ref i, (byte)':'))
            {
                return false;
            }
        }

        var start = i;
        if (!(At(s, i) == '"' ? TryReadQuotedString(s, ref i) : TryReadDotString(s, ref i)))
        {
            return false;
        }

        localPart = s[start..i];
        if (!Take(s, ref i, (byte)'@'))
        {
            return false;
        }

        start = i;
        if (!(At(s, i) == '[' ? TryReadAddressLiteral(s, ref i) : TryReadDomain(s, ref i)))
        {
            return false;
        }

        domain = s[start..i];
        return Take(s, ref i, (byte)'>');
    }

    // Quoted-string = DQUOTE *( qtextSMTP / "\" %d32-126 ) DQUOTE; UTF-8 counts as qtext (checked after).
    private static bool TryReadQuotedString(ReadOnlySpan<byte> s, ref int i)
    {
        i++;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '"')
            {
                i++;
                return true;
            }

            if (c == '\\')
            {
                if (At(s, i + 1) is < 32 or > 126)
                {
                    return false;
                }

                i += 2;
            }
            else if (c is (>= 32 and <= 126) or >= 0x80)
            {
                i++;
            }
            else
            {
                return false;
            }
        }

        return false;
    }

    // Dot-string = Atom *("." Atom); Atom = 1*atext (RFC 6531: and UTF-8).
    private static bool TryReadDotString(ReadOnlySpan<byte> s, ref int i)
    {
        do
        {
            var start = i;
            while (i < s.Length && IsAtext(s[i]))
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }
        while (Take(s, ref i, (byte)'.'));

        return true;
    }

    // Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str] (RFC 6531: or a U-label).
    private static bool TryReadDomain(ReadOnlySpan<byte> s, ref int i)
    {
        do
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiLetterOrDigit((char)s[i]) || s[i] == '-' || s[i] >= 0x80))
            {
                i++;
            }

            if (i == start || s[start] == '-' || s[i - 1] == '-')
            {
                return false;
            }
        }
        while (Take(s, ref i, (byte)'.'));

        return true;
    }

    // address-literal = "[" 1*dcontent "]", dcontent = %d33-90 / %d94-126 (IPv4, IPv6: or a general literal).
    private static bool TryReadAddressLiteral(ReadOnlySpan<byte> s, ref int i)
    {
        var start = ++i;
        while (i < s.Length && s[i] is (>= 33 and <= 90) or (>= 94 and <= 126))
        {
            i++;
        }

        return i > start && Take(s, ref i, (byte)']');
    }

    // *( 1*WSP esmtp-param ) *WSP, esmtp-param = esmtp-keyword ["=" esmtp-value]. SMTPUTF8 takes no value (RFC 6531).
    private static bool TryReadParameters(ReadOnlySpan<byte> s, out bool smtpUtf8)
    {
        smtpUtf8 = false;
        var i = 0;
        while (true)
        {
            var start = i;
            SkipWhiteSpace(s, ref i);
            if (i == s.Length)
            {
                return true;
            }

            if (i == start || !char.IsAsciiLetterOrDigit((char)s[i]))
            {
                return false;
            }

            var keywordStart = i;
            while (i < s.Length && (char.IsAsciiLetterOrDigit((char)s[i]) || s[i] == '-'))
            {
                i++;
            }

            var isSmtpUtf8 = Ascii.EqualsIgnoreCase(s[keywordStart..i], "SMTPUTF8"u8);
            if (Take(s, ref i, (byte)'='))
            {
                var valueStart = i;
                while (i < s.Length && s[i] is (>= 33 and <= 60) or (>= 62 and <= 126))
                {
                    i++;
                }

                if (i == valueStart || isSmtpUtf8)
                {
                    return false;
                }
            }
            else
            {
                smtpUtf8 |= isSmtpUtf8;
            }
        }
    }

    /// <summary>The content of a quoted local part with its quoted pairs resolved (a dot-string as it is).</summary>
    private static string Unquote(string localPart)
    {
        if (localPart[0] != '"')
        {
            return localPart;
        }

        var builder = new StringBuilder(localPart.Length);
        for (var i = 1; i < localPart.Length - 1; i++)
        {
            if (localPart[i] == '\\')
            {
                i++;
            }

            builder.Append(localPart[i]);
        }

        return builder.ToString();
    }

    // Addresses end up in file and blob names downstream: no parent-folder or separator parts.
    private static bool IsPathLike(string part) =>
        part.Contains("..", StringComparison.Ordinal) || part.Contains('/', StringComparison.Ordinal) || part.Contains('\\', StringComparison.Ordinal);

    private static bool IsAtext(byte c) =>
        char.IsAsciiLetterOrDigit((char)c) || c >= 0x80 || "!#$%&'*+-/=?^_`{|}~"u8.Contains(c);

    private static bool IsLibraryText(byte c) => char.IsAsciiLetter((char)c) || c >= 0x80;

    private static void SkipWhiteSpace(ReadOnlySpan<byte> s, ref int i)
    {
        while (i < s.Length && s[i] is (byte)' ' or (byte)'\t')
        {
            i++;
        }
    }

    private static int At(ReadOnlySpan<byte> s, int i) => i < s.Length ? s[i] : -1;

    private static bool Take(ReadOnlySpan<byte> s, ref int i, byte expected)
    {
        if (i < s.Length && s[i] == expected)
        {
            i++;
            return true;
        }

        return false;
    }
}

internal enum EnvelopeVerb
{
    Mail,
    Rcpt,
}

/// <summary>A MAIL or RCPT line read: the path and the line to hand the library, or the refusal.</summary>
internal readonly record struct EnvelopeParse(EnvelopePath? Path, byte[]? LibraryLine, SmtpResponse? Refusal)
{
    public static EnvelopeParse Refused(SmtpResponse refusal) => new(null, null, refusal);
}

/// <summary>
/// A reverse- or forward-path as the client sent it: local part and domain exactly as on the wire (a quoted local
/// part keeps its quotes and backslashes), the local part's content after unquoting (for the policy checks), and for
/// MAIL whether the transaction asked for SMTPUTF8.
/// </summary>
internal sealed record EnvelopePath(string LocalPart, string Domain, string UnquotedLocalPart, bool SmtpUtf8)
{
    /// <summary>The null reverse-path <c>&lt;&gt;</c>.</summary>
    public bool IsNull => LocalPart.Length == 0;
}
