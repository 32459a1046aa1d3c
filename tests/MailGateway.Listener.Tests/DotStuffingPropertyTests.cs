using CsCheck;
using MailGateway.Listener.Smtp;
using MailKit.Net.Smtp;

namespace MailGateway.Listener.Tests;

/// <summary>
/// Dot-stuffing as the gateway sends it (MailKit's <see cref="SmtpDataFilter"/>, the filter every stored message goes
/// through) and unstuffing as the listener reads it (<see cref="DataParser"/>), over generated bodies split into
/// generated chunks. CsCheck prints the seed of a failing case.
/// </summary>
public sealed class DotStuffingPropertyTests
{
    private sealed class Collect : IMessageOutput
    {
        public List<byte> Bytes { get; } = [];

        public void Append(ReadOnlySpan<byte> data) => Bytes.AddRange(data.ToArray());
    }

    // Bytes that matter to SMTP's DATA (dots, CR, LF) often, any other byte sometimes.
    private static readonly Gen<byte[]> RawBytes = Gen.Frequency(
        (6, Gen.OneOf((byte)'.', (byte)'\r', (byte)'\n', (byte)'a', (byte)' ')),
        (1, Gen.Byte)).Array[0, 600];

    // A body as the composer stores it: CRLF line breaks only, ending with CRLF.
    private static readonly Gen<byte[]> CrlfBody = RawBytes.Select(raw =>
    {
        var normalized = new List<byte>();
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\r' || raw[i] == '\n')
            {
                normalized.Add((byte)'\r');
                normalized.Add((byte)'\n');
                if (raw[i] == '\r' && i + 1 < raw.Length && raw[i + 1] == '\n')
                {
                    i++;
                }
            }
            else
            {
                normalized.Add(raw[i]);
            }
        }

        if (normalized.Count < 2 || normalized[^2] != '\r' || normalized[^1] != '\n')
        {
            normalized.AddRange("\r\n"u8.ToArray());
        }

        return normalized.ToArray();
    });

    private static byte[] Stuff(byte[] body)
    {
        var filter = new SmtpDataFilter();
        var stuffed = filter.Flush(body, 0, body.Length, out var offset, out var length);
        return [.. stuffed.AsSpan(offset, length), .. ".\r\n"u8];
    }

    private static (bool Done, int Consumed, byte[] Output, bool Bare) Feed(byte[] input, int chunk)
    {
        var parser = new DataParser();
        var output = new Collect();
        var position = 0;
        while (position < input.Length)
        {
            var piece = input.AsSpan(position, Math.Min(chunk, input.Length - position));
            var done = parser.Parse(piece, output, out var consumed);
            position += consumed;
            if (done)
            {
                return (true, position, [.. output.Bytes], parser.BareLineEnding);
            }
        }

        return (false, position, [.. output.Bytes], parser.BareLineEnding);
    }

    [Fact]
    public void Any_crlf_body_stuffed_by_MailKit_is_read_back_byte_for_byte_by_the_listener_in_any_chunking()
    {
        Gen.Select(CrlfBody, Gen.Int[1, 64]).Sample((body, chunk) =>
        {
            var wire = Stuff(body);
            var (done, consumed, output, bare) = Feed([.. wire, .. "QUIT\r\n"u8], chunk);

            Assert.True(done, "the end of data was not found");
            Assert.Equal(wire.Length, consumed);
            Assert.False(bare);
            Assert.Equal(body, output);
        }, iter: 2000);
    }

    [Fact]
    public void Any_bytes_end_only_at_crlf_dot_crlf_and_a_message_not_flagged_has_no_bare_cr_or_lf()
    {
        Gen.Select(RawBytes, Gen.Int[1, 64]).Sample((raw, chunk) =>
        {
            var (done, consumed, output, bare) = Feed([.. raw, .. "\r\n.\r\n"u8], chunk);

            Assert.True(done, "the end of data was not found");
            var input = new byte[] { (byte)'\r', (byte)'\n' }.Concat(raw).Concat("\r\n.\r\n"u8.ToArray()).ToArray();
            // The first CRLF.CRLF (counting the start of DATA as a line start) is where the parser stops.
            var end = input.AsSpan().IndexOf("\r\n.\r\n"u8) + 5 - 2;
            Assert.Equal(end, consumed);
            if (!bare)
            {
                for (var i = 0; i < output.Length; i++)
                {
                    Assert.True(output[i] != '\r' || (i + 1 < output.Length && output[i + 1] == '\n'), $"bare CR at {i} was not flagged");
                    Assert.True(output[i] != '\n' || (i > 0 && output[i - 1] == '\r'), $"bare LF at {i} was not flagged");
                }
            }
        }, iter: 2000);
    }
}
