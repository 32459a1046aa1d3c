namespace MailGateway.Listener.Smtp;

/// <summary>
/// The DATA phase, strictly by RFC 5321: the message ends only at CRLF "." CRLF, a leading dot is unstuffed, and a
/// CR or LF that is not part of a CRLF pair marks the message as bad (the SMTP-smuggling defence: no lenient
/// end-of-data, and a message carrying such bytes is refused whole). Incremental: feed it the bytes as they arrive.
/// </summary>
internal sealed class DataParser
{
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();
    private static readonly byte[] Cr = "\r"u8.ToArray();
    private static readonly byte[] Lf = "\n"u8.ToArray();

    private State _state = State.LineStart;

    private enum State
    {
        LineStart,
        Dot,
        DotCr,
        Mid,
        Cr,
    }

    /// <summary>True once a bare CR or LF was seen.</summary>
    public bool BareLineEnding { get; private set; }

    /// <summary>
    /// Parses <paramref name="input"/>, handing message bytes to <paramref name="output"/>. Returns true when the
    /// end-of-data line was read; <paramref name="consumed"/> is then the number of bytes up to and including it.
    /// </summary>
    public bool Parse(ReadOnlySpan<byte> input, IMessageOutput output, out int consumed)
    {
        var i = 0;
        while (i < input.Length)
        {
            switch (_state)
            {
                case State.Mid:
                {
                    var rest = input[i..];
                    var k = rest.IndexOfAny((byte)'\r', (byte)'\n');
                    if (k < 0)
                    {
                        output.Append(rest);
                        i = input.Length;
                        break;
                    }

                    output.Append(rest[..k]);
                    i += k;
                    if (input[i] == '\r')
                    {
                        _state = State.Cr;
                    }
                    else
                    {
                        BareLineEnding = true;
                        output.Append(Lf);
                    }

                    i++;
                    break;
                }

                case State.Cr:
                    if (input[i] == '\n')
                    {
                        output.Append(Crlf);
                        _state = State.LineStart;
                        i++;
                    }
                    else
                    {
                        // The CR before this byte was bare; look at this byte again in the middle of a line.
                        BareLineEnding = true;
                        output.Append(Cr);
                        _state = State.Mid;
                    }

                    break;

                case State.LineStart:
                    if (input[i] == '.')
                    {
                        _state = State.Dot;
                        i++;
                    }
                    else
                    {
                        _state = State.Mid;
                    }

                    break;

                case State.Dot:
                    if (input[i] == '\r')
                    {
                        _state = State.DotCr;
                        i++;
                    }
                    else
                    {
                        // A dot followed by more text is dot-stuffing: drop it, keep the rest of the line.
                        _state = State.Mid;
                    }

                    break;

                case State.DotCr:
                    if (input[i] == '\n')
                    {
                        consumed = i + 1;
                        return true;
                    }

                    BareLineEnding = true;
                    output.Append(Cr);
                    _state = State.Mid;
                    break;
            }
        }

        consumed = input.Length;
        return false;
    }
}

/// <summary>Receives the message bytes the parser produces.</summary>
internal interface IMessageOutput
{
    void Append(ReadOnlySpan<byte> data);
}
