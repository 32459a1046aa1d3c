using System.Text;
using MimeKit;

namespace MailGateway.Core.Messages;

/// <summary>
/// Writes the address headers whose display names MimeKit's phrase encoder would not give back exactly. MimeKit encodes
/// a name word by word, mixing atoms, quoted strings and encoded-words: the reader then inserts or drops white space
/// (<c>'(Xo)(</c> next to a non-ASCII word came back as <c>'(Xo) (</c>), trims leading and trailing spaces, turns a tab
/// into a space, re-quotes a name with quotes of its own and decodes text that looks like an encoded-word. Such a name
/// is written here as one run of RFC 2047 base64 encoded-words instead: the white space between adjacent encoded-words
/// is not part of the text (RFC 2047 section 6.2), so every character, space and tab comes back as it was given.
/// </summary>
internal static class DisplayNames
{
    // An encoded-word is at most 75 characters (RFC 2047 section 2): "=?utf-8?b?" + 60 base64 characters + "?=" is 72.
    private const int MaxBytesPerWord = 45;

    // Short enough that a quoted name never makes a line longer than an encoded-word would.
    private const int MaxPlainLength = 60;

    private const int LineLength = 78;

    /// <summary>
    /// Rewrites header <paramref name="id"/> (already set from <paramref name="mailboxes"/>) when one of its names is not
    /// plain; a header whose names are all plain keeps MimeKit's form.
    /// </summary>
    public static void Encode(MimeMessage mime, HeaderId id, IReadOnlyList<EmailAddress> mailboxes)
    {
        if (!mailboxes.Any(m => !string.IsNullOrEmpty(m.DisplayName) && !IsPlain(m.DisplayName)))
        {
            return;
        }

        var header = mime.Headers.First(h => h.Id == id);
        var value = new StringBuilder();
        var column = header.Field.Length + 1;
        for (var i = 0; i < mailboxes.Count; i++)
        {
            var mailbox = mailboxes[i];
            var addrSpec = new MailboxAddress("", mailbox.Address).ToString(MessageComposer.WireFormat, true);
            if (string.IsNullOrEmpty(mailbox.DisplayName))
            {
                Append(value, ref column, addrSpec);
            }
            else
            {
                if (IsPlain(mailbox.DisplayName))
                {
                    Append(value, ref column, "\"" + mailbox.DisplayName.Replace("\\", "\\\\", StringComparison.Ordinal) + "\"");
                }
                else
                {
                    foreach (var word in EncodedWords(mailbox.DisplayName))
                    {
                        Append(value, ref column, word);
                    }
                }

                Append(value, ref column, "<" + addrSpec + ">");
            }

            if (i < mailboxes.Count - 1)
            {
                value.Append(',');
                column++;
            }
        }

        value.Append("\r\n");
        header.SetRawValue(Encoding.UTF8.GetBytes(value.ToString()));
    }

    /// <summary>
    /// A name MimeKit writes and reads back exactly: printable ASCII without double quotes, single spaces between words,
    /// nothing that looks like an encoded-word, short enough for one line.
    /// </summary>
    internal static bool IsPlain(string name)
    {
        if (name.Length > MaxPlainLength || name[0] == ' ' || name[^1] == ' ' || name.Contains("=?", StringComparison.Ordinal))
        {
            return false;
        }

        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c is < ' ' or > '~' or '"' || (c == ' ' && name[i - 1] == ' '))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The name's UTF-8 as base64 encoded-words, each whole characters only (a decoder reads each on its own).</summary>
    internal static IEnumerable<string> EncodedWords(string name)
    {
        var bytes = new List<byte>(MaxBytesPerWord);
        Span<byte> rune = stackalloc byte[4];
        var words = new List<string>();
        foreach (var r in name.EnumerateRunes())
        {
            var length = r.EncodeToUtf8(rune);
            if (bytes.Count + length > MaxBytesPerWord)
            {
                words.Add(Word(bytes));
                bytes.Clear();
            }

            for (var i = 0; i < length; i++)
            {
                bytes.Add(rune[i]);
            }
        }

        words.Add(Word(bytes));
        return words;

        static string Word(List<byte> bytes) => "=?utf-8?b?" + Convert.ToBase64String(bytes.ToArray()) + "?=";
    }

    private static void Append(StringBuilder value, ref int column, string token)
    {
        if (value.Length > 0 && column + 1 + token.Length > LineLength)
        {
            value.Append("\r\n");
            column = 0;
        }

        value.Append(' ').Append(token);
        column += 1 + token.Length;
    }
}
