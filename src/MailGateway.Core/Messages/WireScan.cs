namespace MailGateway.Core.Messages;

/// <summary>
/// What one linear pass over a message's bytes finds that matters on the SMTP wire (RFC 5321 §2.3.8, §4.5.3.1.6):
/// line breaks that are not CRLF, lines longer than 998 octets, 8-bit octets in the header block or the body.
/// </summary>
internal readonly record struct WireScan(bool BareLineBreaks, int LongestLine, bool EightBitHeaders, bool EightBitBody)
{
    /// <summary>RFC 5321 §4.5.3.1.6: 1000 octets including the CRLF.</summary>
    public const int MaxLineOctets = 998;

    /// <summary>No bare CR or LF and no line over 998 octets.</summary>
    public bool IsValidSmtpData => !BareLineBreaks && LongestLine <= MaxLineOctets;

    /// <summary>Scans <paramref name="data"/> once.</summary>
    public static WireScan Of(ReadOnlySpan<byte> data)
    {
        var bare = false;
        var longest = 0;
        var eightBitHeaders = false;
        var eightBitBody = false;
        var inHeaders = true;
        var lineStart = 0;
        var position = 0;
        while (position < data.Length)
        {
            var next = data[position..].IndexOfAny((byte)'\r', (byte)'\n');
            var end = next < 0 ? data.Length : position + next;
            var line = data[lineStart..end];
            if (line.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0)
            {
                if (inHeaders)
                {
                    eightBitHeaders = true;
                }
                else
                {
                    eightBitBody = true;
                }
            }

            longest = Math.Max(longest, line.Length);
            if (next < 0)
            {
                break;
            }

            if (data[end] == '\r' && end + 1 < data.Length && data[end + 1] == '\n')
            {
                position = end + 2;
            }
            else
            {
                bare = true;
                position = end + 1;
            }

            // The first empty line ends the header block.
            if (inHeaders && line.Length == 0)
            {
                inHeaders = false;
            }

            lineStart = position;
        }

        return new WireScan(bare, longest, eightBitHeaders, eightBitBody);
    }

    /// <summary>Every CR or LF that is not part of a CRLF pair replaced by CRLF.</summary>
    public static string NormalizeLineBreaks(string text)
    {
        var first = text.AsSpan().IndexOfAny('\r', '\n');
        if (first < 0)
        {
            return text;
        }

        var builder = new System.Text.StringBuilder(text.Length + 16);
        builder.Append(text.AsSpan(0, first));
        for (var i = first; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r')
            {
                builder.Append("\r\n");
                if (i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }
            }
            else if (c == '\n')
            {
                builder.Append("\r\n");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>The bytes with every bare CR or LF replaced by CRLF (for stored content written before that was guaranteed).</summary>
    public static byte[] NormalizeLineBreaks(ReadOnlySpan<byte> data)
    {
        var output = new List<byte>(data.Length + 64);
        for (var i = 0; i < data.Length; i++)
        {
            var b = data[i];
            if (b == '\r')
            {
                output.Add((byte)'\r');
                output.Add((byte)'\n');
                if (i + 1 < data.Length && data[i + 1] == '\n')
                {
                    i++;
                }
            }
            else if (b == '\n')
            {
                output.Add((byte)'\r');
                output.Add((byte)'\n');
            }
            else
            {
                output.Add(b);
            }
        }

        return [.. output];
    }
}
