using CsCheck;
using MailGateway.Core.Messages;

namespace MailGateway.Core.Tests.Messages;

/// <summary>
/// CsCheck generators of messages the validator accepts (and some it refuses): addresses of every shape the address
/// syntax allows, display names, subjects and header values with any printable text (quotes, commas, encoded-word
/// lookalikes, non-ASCII, long words), bodies with every kind of line break and leading dots, binary attachments.
/// </summary>
internal static partial class MessageGenerators
{
    // Printable text that stresses the header encoders: RFC 2047 lookalikes, specials, non-ASCII in several scripts.
    private static readonly string[] Words =
    [
        "a", "Hello", "=?utf-8?q?x?=", "\"quoted\"", "a,b", "(comment)", "<angle>", "Grüße", "日本語", "emoji😀", "tab\there",
        "semi;colon", "back\\slash", "x@y", "=", "?", "_", ".", "..", "very-long-word-" + new string('w', 120), "ÀÉÎÕÜ", "Ω≈ç√",
        "\u00a0nbsp", "a  b", "trailing ", " leading",
    ];

    private static readonly Gen<string> Word = Gen.OneOf(
        Gen.OneOf(Words.Where(w => w.Length < 70).ToArray()),
        Gen.Char[' ', '~'].Array[1, 12].Select(c => new string(c)),
        Gen.Char['\u00a0', '\u07ff'].Array[1, 6].Select(c => new string(c)));

    /// <summary>
    /// Text of one header line's worth: words joined by single spaces, no CR, LF or NUL. Known gaps (README, "Limits and
    /// known gaps") are left out: MimeKit trims leading and trailing white space of a header value and decodes text
    /// that looks like an RFC 2047 encoded-word (<c>=?utf-8?q?x?=</c>). Display names have their own generator, without
    /// these exclusions.
    /// </summary>
    public static Gen<string> HeaderText(int maxWords) =>
        Word.Array[1, maxWords].Select(words => string.Join(' ', words))
            .Select(text => MultipleSpaces().Replace(text.Replace("=?", "=_", StringComparison.Ordinal).Replace('\t', ' '), " ").Trim())
            .Where(text => text.Length > 0);

    // The local part: a dot-atom (ASCII or UTF-8) or a quoted string.
    private static readonly Gen<string> Atom = Gen.OneOf(
        Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~"].Array[1, 10].Select(c => new string(c)),
        Gen.OneOf("user", "first.last", "ü", "δοκιμή", "用户"));

    private static readonly Gen<string> LocalPart = Gen.Frequency(
        (6, Atom.Array[1, 3].Select(a => string.Join('.', a))),
        (1, Gen.OneOf("\"with space\"", "\"a\\\"b\"", "\"odd,chars@\"")));

    private static readonly Gen<string> Domain = Gen.OneOf(
        Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"].Array[1, 12].Select(c => new string(c)).Array[1, 3]
            .Select(labels => string.Join('.', labels) + ".example"),
        Gen.OneOf("example.com", "mail.example.org", "xn--bcher-kva.example", "bücher.example", "[127.0.0.1]"));

    /// <summary>An address the validator accepts (mostly ASCII, sometimes UTF-8).</summary>
    public static readonly Gen<string> Address = Gen.Select(LocalPart, Domain, (l, d) => $"{l}@{d}")
        .Where(a => AddressSyntax.Check(a) is null);

    /// <summary>An ASCII-only address the validator accepts.</summary>
    public static readonly Gen<string> AsciiAddress = Address.Where(a => a.All(char.IsAscii));

    // Any text a display name can hold (the composer writes what MimeKit would not give back as encoded-words): every
    // word above, long ones too, quotes, tabs, runs of spaces, leading and trailing white space, encoded-word lookalikes.
    private static readonly Gen<string> DisplayName = Gen.Select(
            Gen.OneOf(Gen.OneOf(Words), Word).Array[1, 6],
            Gen.OneOf(" ", " ", " ", "  ", "\t", " \t "),
            Gen.OneOf("", "", "", " ", "\t"),
            (words, separator, edge) => edge + string.Join(separator, words) + edge)
        .Where(name => name.Length > 0);

    private static readonly Gen<EmailAddress> Mailbox = Gen.Select(Address, DisplayName.Null(0.4), (a, n) => new EmailAddress(a, n));

    private static readonly Gen<string> HeaderName = Gen.Char["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"]
        .Array[1, 20].Select(c => "X-" + new string(c));

    // Any text a body can hold: every line break shape, leading dots (SMTP's end of data), NUL-free control bytes.
    private static readonly Gen<string> BodyPiece = Gen.OneOf(
        Gen.OneOf(Words),
        Gen.OneOf("\r\n", "\n", "\r", "\r\r\n", ".", "..", ".\r\n", "\r\n.\r\n", "\n.\n", " ", "\t", "From ", "--", "=", "=3D",
            "<p>", "</html>", "\u00e9", "\u20ac", "😀", new string('x', 1200), "begin 644"),
        Word);

    /// <summary>A body: any printable text with every kind of line break and long lines.</summary>
    public static readonly Gen<string> Body = BodyPiece.Array[1, 40].Select(p => string.Concat(p));

    // Known gap (README): MimeKit can split a surrogate pair between two RFC 2231 continuations of a long file name
    // (filename*0*, filename*1*), which reads back as two U+FFFD (CsCheck seed 9r3bzU6GU_l2 before this filter).
    private static readonly Gen<Attachment> AttachmentGen = Gen.Select(
        HeaderText(3).Select(name => new string([.. name.Where(c => !char.IsSurrogate(c))])).Where(name => name.Trim().Length > 0),
        Gen.OneOf("application/octet-stream", "image/png", "text/plain", "text/plain; charset=utf-8", "message/rfc822",
            "application/pdf", "text/csv"),
        Gen.Byte.Array[0, 3000],
        Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789.-_@"].Array[1, 20].Select(c => new string(c)).Null(0.7),
        (name, type, bytes, cid) => new Attachment(name, type, bytes, cid));

    /// <summary>A message the validator should accept: 1-4 recipients, a body, optional headers and attachments.</summary>
    public static readonly Gen<OutboundMessage> Message =
        Gen.Select(
            Mailbox,
            Mailbox.Array[1, 3],
            Mailbox.Array[0, 2],
            Mailbox.Array[0, 2],
            HeaderText(12).Null(0.1),
            Body.Null(0.2),
            Body.Null(0.6),
            Gen.Select(HeaderName, HeaderText(10), (n, v) => new MessageHeader(n, v)).Array[0, 4],
            AttachmentGen.Array[0, 3],
            (from, to, cc, bcc, subject, text, html, headers, attachments) => new OutboundMessage
            {
                From = from,
                To = to,
                Cc = cc,
                Bcc = bcc,
                Subject = subject,
                Text = text ?? (html is null ? "fallback" : null),
                Html = html,
                Headers = [.. headers.DistinctBy(h => h.Name, StringComparer.OrdinalIgnoreCase)],
                // Content-ids are unique per message (the validator refuses duplicates).
                Attachments = [.. attachments.Select((a, i) => a.ContentId is null ? a : a with { ContentId = $"{a.ContentId}.{i}" })],
            });

    [System.Text.RegularExpressions.GeneratedRegex(@"\s{2,}")]
    private static partial System.Text.RegularExpressions.Regex MultipleSpaces();
}
