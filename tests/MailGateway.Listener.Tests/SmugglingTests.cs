using System.Text;

namespace MailGateway.Listener.Tests;

/// <summary>SMTP smuggling: only CRLF.CRLF ends DATA, and bare CR/LF is refused.</summary>
public sealed class SmugglingTests
{
    public static TheoryData<string> Payloads => new()
    {
        "\n.\n",
        "\n.\r\n",
        "\r.\r\n",
        "\r\n.\r",
        "\r\n\0.\r\n",
        "\n\n.\r\n",
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public async Task Smuggling_payload_with_pipelined_spoofed_MAIL_FROM_stores_at_most_one_message_without_bare_line_endings(string payload)
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<honest@remote.test>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<user@example.test>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);

        await client.SendAsync(
            "From: honest@remote.test\r\nSubject: legit\r\n\r\nlegit body" + payload
            + "MAIL FROM:<ceo@example.test>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n"
            + "From: ceo@example.test\r\nSubject: spoofed\r\n\r\nspoofed body\r\n.\r\n");

        // Whatever the verdict, the server answered once for the whole block and reads commands again.
        var verdict = await client.ReadReplyAsync();
        Assert.True(verdict.Code is 250 or 550, verdict.Text);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);

        var stored = listener.StoredMessages();
        Assert.True(stored.Length <= 1, $"{stored.Length} messages stored");
        foreach (var path in stored)
        {
            var bytes = File.ReadAllBytes(path);
            for (var i = 0; i < bytes.Length; i++)
            {
                Assert.False(bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r'), "bare LF stored");
                Assert.False(bytes[i] == '\r' && (i + 1 == bytes.Length || bytes[i + 1] != '\n'), "bare CR stored");
            }

            // A stored message is the honest one, with the would-be spoof as inert body text.
            var text = Encoding.Latin1.GetString(bytes);
            Assert.Contains("Subject: legit", text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("line one\nline two\r\n")]
    [InlineData("line one\rline two\r\n")]
    [InlineData("ends with bare cr\r")]
    public async Task Rejects_bare_CR_or_LF_in_DATA_with_550_5_6_0(string body)
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");
        await client.SendAsync("Subject: bare\r\n\r\n" + body + "\r\n.\r\n");
        var reply = await client.ReadReplyAsync();
        Assert.Equal(550, reply.Code);
        Assert.StartsWith("550 5.6.0 ", reply.Text, StringComparison.Ordinal);
        Assert.Empty(listener.StoredMessages());
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Commands_pipelined_after_the_end_of_data_are_executed_in_order()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.SendAsync("MAIL FROM:<a@remote.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(354, (await client.ReadReplyAsync()).Code);
        await client.SendAsync("Subject: one\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@remote.test>\r\nRCPT TO:<d@example.test>\r\nDATA\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(354, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("Subject: two\r\n\r\n.")).Code);
        Assert.Equal(2, listener.StoredMessages().Length);
    }
}
