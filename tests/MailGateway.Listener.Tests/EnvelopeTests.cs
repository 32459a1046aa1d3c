using System.Text;

namespace MailGateway.Listener.Tests;

/// <summary>MAIL FROM and RCPT TO read by our own parser (RFC 5321, RFC 6531), never by SmtpServer's.</summary>
public sealed class EnvelopeTests
{
    [Theory]
    [InlineData("\"x\\q\"@example.test")]
    [InlineData("\"a\\k\"@example.test")]
    [InlineData("\"\\x61dmin\"@example.test")]
    [InlineData("\"\\u0041\"@example.test")]
    [InlineData("\"a b\"@example.test")]
    [InlineData("\"a\\\"b\"@example.test")]
    [InlineData("\"a\\ b\"@example.test")]
    [InlineData("\"!#$%&'*+=?^_`{|}~\"@example.test")]
    [InlineData("\"\"\"@example.test", false)]
    [InlineData("first.last+tag@example.test")]
    [InlineData("User@EXAMPLE.TEST")]
    public async Task A_recipient_is_recorded_exactly_as_sent(string address, bool valid = true)
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@remote.test>")).Code);
        var reply = await client.CommandAsync($"RCPT TO:<{address}>");
        if (!valid)
        {
            Assert.StartsWith("501 5.1.3 ", reply.Text, StringComparison.Ordinal);
            return;
        }

        Assert.Equal(250, reply.Code);
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: exact\r\n\r\n.")).Code);
        Assert.Equal([address], listener.SingleStoredEnvelope().Recipients);
    }

    [Fact]
    public async Task Quoted_pairs_in_MAIL_FROM_no_longer_end_the_session_without_a_reply()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);

        // SmtpServer's Regex.Unescape threw RegexParseException on "\k": the session closed with no reply.
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<\"a\\k\"@remote.test>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.test>")).Code);
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: k\r\n\r\n.")).Code);
        Assert.Equal("\"a\\k\"@remote.test", listener.SingleStoredEnvelope().MailFrom);
    }

    [Fact]
    public async Task The_null_sender_a_source_route_and_other_spellings_the_library_accepted_still_work()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(250, (await client.CommandAsync("mail from: <> BODY=8BITMIME SIZE=100")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<@relay.test,@other.test:routed@example.test>")).Code);
        Assert.Equal(250, (await client.CommandAsync("rcpt\tto:<\"tab\\q\"@example.test> NOTIFY=NEVER")).Code);
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: spellings\r\n\r\n.")).Code);

        var (from, to) = listener.SingleStoredEnvelope();
        Assert.Equal("", from);
        Assert.Equal(["routed@example.test", "\"tab\\q\"@example.test"], to);
    }

    [Theory]
    [InlineData("RCPT TO:<\"unterminated@example.test>", "501 5.1.3 ")]
    [InlineData("RCPT TO:<\"x\\", "501 5.1.3 ")]
    [InlineData("RCPT TO:<a@example.test", "501 5.1.3 ")]
    [InlineData("RCPT TO:a@example.test", "501 5.1.3 ")]
    [InlineData("RCPT TO:<>", "501 5.1.3 ")]
    [InlineData("RCPT TO:<\"\"@example.test>", "501 5.1.3 ")]
    [InlineData("RCPT TO:<a@-example.test>", "501 5.1.3 ")]
    [InlineData("RCPT TO:<a@example.test> =bad", "501 5.5.4 ")]
    [InlineData("RCPT TO <a@example.test>", "501 5.5.4 ")]
    [InlineData("RCPT TO:<a@example.test>junk", "501 5.5.4 ")]
    [InlineData("RCPT TO:<\"a\\\\b\"@example.test>", "553 5.1.3 ")]
    [InlineData("RCPT TO:<\"a\\/b\"@example.test>", "553 5.1.3 ")]
    public async Task A_malformed_recipient_is_refused_and_the_session_goes_on(string line, string reply)
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@remote.test>")).Code);

        Assert.StartsWith(reply, (await client.CommandAsync(line)).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<ok@example.test>")).Code);
    }

    [Theory]
    [InlineData("MAIL FROM:<a@remote.test> SMTPUTF8=yes", "501 5.5.4 ")]
    [InlineData("MAIL FROM:<a@remote.test> SIZE", "250 ")]
    [InlineData("MAIL FROM:<a@remote.test> ENVID=x/y AUTH=<>", "250 ")]
    [InlineData("MAIL FROM:<a..b@remote.test", "553 5.1.3 ")]
    [InlineData("MAIL FRM:<a@remote.test>", "501 5.5.4 ")]
    [InlineData("MAIL FROM:<\"a\\q\"@remote.test> SIZE=100000000", "552 ")]
    public async Task MAIL_parameters_are_checked(string line, string reply)
    {
        await using var listener = await TestListener.StartAsync(o => o.MaxMessageSize = 1024 * 1024);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.StartsWith(reply, (await client.CommandAsync(line)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_MAIL_line_ending_in_a_bare_LF_is_refused_not_joined_with_the_next()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.SendAsync("MAIL FROM:<a@remote.test>\nRCPT TO:<b@example.test>\r\n");
        Assert.StartsWith("501 5.5.2 ", (await client.ReadReplyAsync()).Text, StringComparison.Ordinal);
        Assert.StartsWith("501 ", (await client.ReadReplyAsync()).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFE })]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })]
    [InlineData(new byte[] { 0xE2, 0x82 })]
    public async Task Invalid_UTF8_is_refused_with_or_without_SMTPUTF8(byte[] raw)
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.StartsWith("501 5.1.3 ", (await client.CommandAsync(Bytes("MAIL FROM:<", raw, "@remote.test> SMTPUTF8"))).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test> SMTPUTF8")).Code);
        Assert.StartsWith("501 5.1.3 ", (await client.CommandAsync(Bytes("RCPT TO:<", raw, "@example.test>"))).Text, StringComparison.Ordinal);
        Assert.StartsWith("501 5.1.3 ", (await client.CommandAsync(Bytes("RCPT TO:<\"a", raw, "\"@example.test>"))).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.test>")).Code);
    }

    [Fact]
    public async Task Two_different_UTF8_addresses_stay_two_and_a_C1_control_is_refused()
    {
        await using var listener = await TestListener.StartAsync(o =>
        {
            o.AcceptAllRecipients = true;
            o.Domains = [];
        });
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(250, (await client.CommandAsync(Utf8("MAIL FROM:<\"jö rg\"@bücher.example> SMTPUTF8"))).Code);
        Assert.Equal(250, (await client.CommandAsync(Utf8("RCPT TO:<日本@例え.テスト>"))).Code);
        Assert.Equal(250, (await client.CommandAsync(Utf8("RCPT TO:<e\u0301@example.test>"))).Code);
        Assert.Equal(250, (await client.CommandAsync(Utf8("RCPT TO:<\u00e9@example.test>"))).Code);
        Assert.StartsWith("501 5.1.3 ", (await client.CommandAsync(Utf8("RCPT TO:<a\u0085b@example.test>"))).Text, StringComparison.Ordinal);
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: utf8\r\n\r\n.")).Code);

        var (from, to) = listener.SingleStoredEnvelope();
        Assert.Equal("\"jö rg\"@bücher.example", from);
        Assert.Equal(["日本@例え.テスト", "e\u0301@example.test", "\u00e9@example.test"], to);
    }

    [Fact]
    public async Task Non_ASCII_needs_SMTPUTF8_on_MAIL_for_the_whole_transaction()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.StartsWith("553 5.6.7 ", (await client.CommandAsync(Utf8("MAIL FROM:<jörg@remote.test>"))).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
        Assert.StartsWith("553 5.6.7 ", (await client.CommandAsync(Utf8("RCPT TO:<pelé@example.test>"))).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.test>")).Code);
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: ascii\r\n\r\n.")).Code);

        // The next transaction asks for SMTPUTF8; the one after does not again.
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test> smtputf8")).Code);
        Assert.Equal(250, (await client.CommandAsync(Utf8("RCPT TO:<pelé@example.test>"))).Code);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
        Assert.StartsWith("553 5.6.7 ", (await client.CommandAsync(Utf8("RCPT TO:<pelé@example.test>"))).Text, StringComparison.Ordinal);
    }

    private static byte[] Bytes(string before, byte[] raw, string after) =>
        [.. Encoding.ASCII.GetBytes(before), .. raw, .. Encoding.ASCII.GetBytes(after)];

    private static byte[] Utf8(string line) => Encoding.UTF8.GetBytes(line);
}
