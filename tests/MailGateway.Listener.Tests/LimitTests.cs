using System.Net;
using System.Net.Sockets;
using System.Text;
using MailGateway.Testing;

namespace MailGateway.Listener.Tests;

/// <summary>Every limit answers with its RFC reply and leaves the listener healthy.</summary>
public sealed class LimitTests
{
    [Fact]
    public async Task Rejects_a_message_over_the_size_limit_on_the_stream_with_552()
    {
        await using var listener = await TestListener.StartAsync(o => o.MaxMessageSize = 10_000);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);

        // No SIZE parameter: only the stream can tell.
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.test>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        var line = new string('x', 98) + "\r\n";
        var reply = await client.CommandAsync(string.Concat(Enumerable.Repeat(line, 200)) + ".");
        Assert.Equal(552, reply.Code);
        Assert.StartsWith("552 5.3.4 ", reply.Text, StringComparison.Ordinal);
        Assert.Empty(listener.StoredMessages());
        Assert.Empty(Directory.Exists(listener.Root) ? Directory.GetFiles(listener.Root, "*", SearchOption.AllDirectories) : []);

        // The session stays in step: a message within the limit goes through next.
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: small\r\n\r\nok\r\n.")).Code);
        Assert.Single(listener.StoredMessages());
    }

    [Fact]
    public async Task A_message_exactly_at_the_size_limit_is_accepted()
    {
        await using var listener = await TestListener.StartAsync(o => o.MaxMessageSize = 10_000);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");
        var body = string.Concat(Enumerable.Repeat(new string('y', 98) + "\r\n", 100));
        Assert.Equal(10_000, body.Length);
        Assert.Equal(250, (await client.CommandAsync(body + ".")).Code);
    }

    [Fact]
    public async Task Rejects_MAIL_with_a_SIZE_parameter_over_the_limit_with_552()
    {
        await using var listener = await TestListener.StartAsync(o => o.MaxMessageSize = 10_000);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(552, (await client.CommandAsync("MAIL FROM:<a@remote.test> SIZE=20000")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test> SIZE=9000")).Code);
    }

    [Fact]
    public async Task Answers_452_to_recipients_beyond_the_limit()
    {
        await using var listener = await TestListener.StartAsync(o => o.MaxRecipients = 3);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<r{i}@example.test>")).Code);
        }

        var reply = await client.CommandAsync("RCPT TO:<r3@example.test>");
        Assert.Equal(452, reply.Code);
        Assert.StartsWith("452 4.5.3 ", reply.Text, StringComparison.Ordinal);
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: three\r\n\r\n.")).Code);
        var json = File.ReadAllText(Path.ChangeExtension(Assert.Single(listener.StoredMessages()), ".json"));
        Assert.Contains("r2@example.test", json, StringComparison.Ordinal);
        Assert.DoesNotContain("r3@example.test", json, StringComparison.Ordinal);

        // A new transaction starts counting afresh.
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r4@example.test>")).Code);
    }

    [Fact]
    public async Task The_452s_for_too_many_recipients_do_not_count_towards_MaxErrors()
    {
        await using var listener = await TestListener.StartAsync(o =>
        {
            o.MaxRecipients = 3;
            o.MaxErrors = 2;
        });
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");

        // Pipelined, as a client that does not wait for each RCPT reply sends them.
        await client.SendAsync(string.Concat(Enumerable.Range(0, 10).Select(i => $"RCPT TO:<r{i}@example.test>\r\n")));
        var replies = new List<RawSmtpReply>();
        for (var i = 0; i < 10; i++)
        {
            replies.Add(await client.ReadReplyAsync());
        }

        Assert.Equal([250, 250, 250, 452, 452, 452, 452, 452, 452, 452], replies.Select(r => r.Code));
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("Subject: three\r\n\r\n.")).Code);
        Assert.Equal(["r0@example.test", "r1@example.test", "r2@example.test"], listener.SingleStoredEnvelope().Recipients);

        // Real errors still count: the second consecutive one ends the session.
        Assert.Equal(502, (await client.CommandAsync("VRFY x")).Code);
        Assert.Equal(502, (await client.CommandAsync("VRFY y")).Code);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task A_RCPT_after_RSET_or_after_DATA_is_out_of_sequence_not_452()
    {
        await using var listener = await TestListener.StartAsync(o => o.MaxRecipients = 1);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r0@example.test>")).Code);
        Assert.Equal(452, (await client.CommandAsync("RCPT TO:<r1@example.test>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        Assert.StartsWith("501 expected", (await client.CommandAsync("RCPT TO:<r2@example.test>")).Text, StringComparison.Ordinal);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r3@example.test>")).Code);
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: one\r\n\r\n.")).Code);
        Assert.StartsWith("501 expected", (await client.CommandAsync("RCPT TO:<r4@example.test>")).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejects_an_overlong_command_line_with_500_5_5_6_and_recovers()
    {
        await using var listener = await TestListener.StartAsync(o => o.MaxCommandLineLength = 1024);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        var reply = await client.CommandAsync("NOOP " + new string('a', 50_000));
        Assert.Equal(500, reply.Code);
        Assert.StartsWith("500 5.5.6 ", reply.Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
    }

    [Fact]
    public async Task An_endless_line_without_a_newline_is_refused_not_buffered()
    {
        await using var listener = await TestListener.StartAsync(o => o.MaxCommandLineLength = 1024);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.SendAsync(new string('z', 200_000));
        var reply = await client.ReadReplyAsync();
        Assert.Equal(500, reply.Code);
        await client.SendAsync("\r\n");
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Refuses_connections_beyond_the_overall_limit_with_421()
    {
        await using var listener = await TestListener.StartAsync(o =>
        {
            o.MaxConnections = 2;
            o.MaxConnectionsPerClient = 2;
        });
        var first = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await using var second = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await using (var third = await RawSmtpClient.ConnectAsync(listener.Port))
        {
            var reply = await third.ReadReplyAsync();
            Assert.Equal(421, reply.Code);
            Assert.StartsWith("421 4.7.0 ", reply.Text, StringComparison.Ordinal);
            Assert.True(await third.IsClosedByServerAsync());
        }

        // A slot frees when a session ends.
        Assert.Equal(221, (await first.CommandAsync("QUIT")).Code);
        await first.DisposeAsync();
        await PollAsync(() => listener.Listener.OpenConnections == 1);
        await using var fourth = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(250, (await second.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Refuses_connections_beyond_the_per_client_limit_with_421()
    {
        await using var listener = await TestListener.StartAsync(o => o.MaxConnectionsPerClient = 1);
        await using var first = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await using var second = await RawSmtpClient.ConnectAsync(listener.Port);
        var reply = await second.ReadReplyAsync();
        Assert.Equal(421, reply.Code);
        Assert.Contains("from your address", reply.Text, StringComparison.Ordinal);
        Assert.Equal(250, (await first.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Refuses_connections_beyond_the_per_IPv6_64_limit_with_421()
    {
        await using var listener = await TestListener.StartAsync(o =>
        {
            o.Endpoints = [new InboundEndpointOptions { Address = "::1", Port = 0 }];
            o.MaxConnectionsPerClient = 3;
            o.MaxConnectionsPerIPv6Prefix = 1;
        });
        using var refused = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(listener.Listener.Meter, "mailgateway.inbound.connections.refused");
        await using var first = await RawSmtpClient.ConnectAndGreetAsync(listener.Port, address: IPAddress.IPv6Loopback);
        await using var second = await RawSmtpClient.ConnectAsync(listener.Port, IPAddress.IPv6Loopback);
        var reply = await second.ReadReplyAsync();
        Assert.StartsWith("421 4.7.0 ", reply.Text, StringComparison.Ordinal);
        Assert.Contains("from your network", reply.Text, StringComparison.Ordinal);
        Assert.Equal("per_network", Assert.Single(refused.GetMeasurementSnapshot()).Tags["limit"]);
        Assert.Equal(250, (await first.CommandAsync("NOOP")).Code);
    }

    internal static Task PollAsync(Func<bool> condition) => Poll.UntilAsync(condition, () => "the condition was not met");
}
