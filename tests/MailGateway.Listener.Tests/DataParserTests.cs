using System.Text;
using MailGateway.Listener.Smtp;

namespace MailGateway.Listener.Tests;

public sealed class DataParserTests
{
    private sealed class Collect : IMessageOutput
    {
        public List<byte> Bytes { get; } = [];

        public void Append(ReadOnlySpan<byte> data) => Bytes.AddRange(data.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(1000)]
    public void Parse_SplitAnywhere_UnstuffsAndStopsAtEndOfData(int chunk)
    {
        var input = Encoding.ASCII.GetBytes("..a\r\nb\r\n...c\r\n.\r\nNEXT");
        var parser = new DataParser();
        var output = new Collect();
        var offset = 0;
        var done = false;
        while (!done)
        {
            var piece = input.AsSpan(offset, Math.Min(chunk, input.Length - offset));
            done = parser.Parse(piece, output, out var consumed);
            offset += consumed;
        }

        Assert.Equal(".a\r\nb\r\n..c\r\n", Encoding.ASCII.GetString([.. output.Bytes]));
        Assert.Equal("NEXT", Encoding.ASCII.GetString(input[offset..]));
        Assert.False(parser.BareLineEnding);
    }

    [Theory]
    [InlineData("a\n.\nb\r\n.\r\n")]
    [InlineData("a\r.\r\n.\r\n")]
    [InlineData("a\r\n.\rb\r\n.\r\n")]
    public void Parse_BareLineEndings_DoNotEndDataButAreFlagged(string text)
    {
        var parser = new DataParser();
        Assert.True(parser.Parse(Encoding.ASCII.GetBytes(text), new Collect(), out var consumed));
        Assert.Equal(text.Length, consumed);
        Assert.True(parser.BareLineEnding);
    }

    [Fact]
    public void Parse_EmptyMessage_EndsAtOnce()
    {
        var parser = new DataParser();
        var output = new Collect();
        Assert.True(parser.Parse(".\r\n"u8, output, out var consumed));
        Assert.Equal(3, consumed);
        Assert.Empty(output.Bytes);
    }
}
