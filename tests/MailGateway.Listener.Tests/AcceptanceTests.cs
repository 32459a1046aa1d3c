using System.Text;
using System.Text.Json;
using MailKit.Security;
using MimeKit;

namespace MailGateway.Listener.Tests;

public sealed class AcceptanceTests
{
    [Fact]
    public async Task Stores_a_MailKit_message_over_STARTTLS_with_received_header_and_metadata()
    {
        await using var listener = await TestListener.StartAsync();
        var sent = Clients.Message(subject: "Über STARTTLS");
        using (var client = await Clients.MailKitAsync(listener.Port, SecureSocketOptions.StartTls))
        {
            var reply = await client.SendAsync(sent);
            Assert.Contains("queued as", reply, StringComparison.Ordinal);
            await client.DisconnectAsync(quit: true);
        }

        var path = Assert.Single(listener.StoredMessages());
        Assert.Matches(@"inbound[/\\]\d{4}[/\\]\d{2}[/\\]\d{2}[/\\][0-9a-f]{32}\.eml$", path);
        using var stored = MimeMessage.Load(path);
        Assert.Equal(sent.Subject, stored.Subject);
        Assert.Equal(sent.MessageId, stored.MessageId);
        var received = stored.Headers[HeaderId.Received];
        Assert.Contains("from client", received, StringComparison.Ordinal);
        Assert.Contains("[127.0.0.1]", received, StringComparison.Ordinal);
        Assert.Contains("by mx.example.test with ESMTPS id " + Path.GetFileNameWithoutExtension(path), received, StringComparison.Ordinal);

        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.ChangeExtension(path, ".json")));
        var m = json.RootElement;
        Assert.Equal(Path.GetFileNameWithoutExtension(path), m.GetProperty("id").GetString());
        Assert.Equal("sender@remote.test", m.GetProperty("mailFrom").GetString());
        Assert.Equal(["user@example.test"], m.GetProperty("recipients").EnumerateArray().Select(e => e.GetString() ?? "").ToArray());
        Assert.Equal("127.0.0.1", m.GetProperty("clientIp").GetString());
        Assert.True(m.GetProperty("tls").GetBoolean());
        Assert.Equal(new FileInfo(path).Length, m.GetProperty("size").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))), m.GetProperty("sha256").GetString());
        Assert.Equal("<" + sent.MessageId + ">", m.GetProperty("messageId").GetString());
    }

    [Fact]
    public async Task Stored_bytes_equal_the_sent_bytes_after_dot_unstuffing_plus_the_received_header()
    {
        await using var listener = await TestListener.StartAsync();
        var original = "..first line starts with a dot\r\nSubject: raw\r\n\r\n.\r\n" // header-ish junk is fine: bytes are bytes
            + "line\r\n..two dots\r\n...three\r\n.x\r\n\r\nbinary:\u00e9\u00ff\u0001\tend\r\n";
        var stuffed = string.Join("\r\n", original.Split("\r\n").Select(l => l.StartsWith('.') ? "." + l : l));

        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.test>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        var reply = await client.CommandAsync(stuffed + ".");
        Assert.Equal(250, reply.Code);
        Assert.StartsWith("250 2.0.0 Ok: queued as ", reply.Text, StringComparison.Ordinal);

        var stored = listener.SingleStoredMessage();
        var text = Encoding.Latin1.GetString(stored);
        var headerEnd = text.IndexOf("\r\n..first", StringComparison.Ordinal);
        var received = text[..(headerEnd + 2)];
        Assert.StartsWith("Received: from client.test ([127.0.0.1])\r\n\tby mx.example.test with ESMTP id ", received, StringComparison.Ordinal);
        Assert.Equal(original, text[received.Length..].Replace("\r\n..first", "..first", StringComparison.Ordinal));
        Assert.Equal(Encoding.Latin1.GetBytes(original), stored[received.Length..]);
    }

    [Fact]
    public async Task Empty_message_is_accepted()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync(".")).Code);
        var stored = Encoding.ASCII.GetString(listener.SingleStoredMessage());
        Assert.StartsWith("Received: ", stored, StringComparison.Ordinal);
        Assert.EndsWith("+0000\r\n", stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HELO_client_with_null_sender_is_recorded_as_SMTP_with_empty_mail_from()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port, ehlo: null);
        Assert.Equal("250 mx.example.test Hello old.client.test", (await client.CommandAsync("HELO old.client.test")).Text);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<postmaster@example.test>")).Code);
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: bounce\r\n\r\nreturned\r\n.")).Code);

        var path = Assert.Single(listener.StoredMessages());
        Assert.StartsWith("Received: from old.client.test ([127.0.0.1])\r\n\tby mx.example.test with SMTP id ", File.ReadAllText(path), StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.ChangeExtension(path, ".json")));
        Assert.Equal("", json.RootElement.GetProperty("mailFrom").GetString());
        Assert.Equal("old.client.test", json.RootElement.GetProperty("clientHelo").GetString());
        Assert.False(json.RootElement.GetProperty("tls").GetBoolean());
    }

    [Fact]
    public async Task Several_messages_on_one_connection_are_stored_separately()
    {
        await using var listener = await TestListener.StartAsync();
        using (var client = await Clients.MailKitAsync(listener.Port, SecureSocketOptions.None))
        {
            for (var i = 0; i < 3; i++)
            {
                await client.SendAsync(Clients.Message(subject: "n" + i));
            }

            await client.DisconnectAsync(quit: true);
        }

        var subjects = listener.StoredMessages().Select(p => MimeMessage.Load(p).Subject ?? "").Order().ToArray();
        Assert.Equal(["n0", "n1", "n2"], subjects);
    }

    [Fact]
    public async Task Swaks_delivers_a_message()
    {
        await using var listener = await TestListener.StartAsync();
        var (exit, output) = await Clients.SwaksAsync(
            "--server", "127.0.0.1:" + listener.Port, "--from", "sender@remote.test", "--to", "user@example.test",
            "--helo", "swaks.test", "--header", "Subject: via swaks", "--body", "Body from swaks");
        Assert.True(exit == 0, output);
        using var stored = MimeMessage.Load(Assert.Single(listener.StoredMessages()));
        Assert.Equal("via swaks", stored.Subject);
        Assert.Contains("from swaks.test", stored.Headers[HeaderId.Received], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Swaks_delivers_over_STARTTLS_with_AUTH_PLAIN()
    {
        await using var listener = await TestListener.StartAsync(o => o.Users = [new InboundUserOptions { UserName = "app", PasswordHash = PasswordHash.Create("s3cret", 1000) }]);
        var (exit, output) = await Clients.SwaksAsync(
            "--server", "127.0.0.1:" + listener.Port, "--from", "sender@remote.test", "--to", "user@example.test",
            "--tls", "--auth", "PLAIN", "--auth-user", "app", "--auth-password", "s3cret", "--header", "Subject: tls+auth");
        Assert.True(exit == 0, output);
        var path = Assert.Single(listener.StoredMessages());
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.ChangeExtension(path, ".json")));
        Assert.Equal("app", json.RootElement.GetProperty("authenticatedUser").GetString());
        Assert.Contains("with ESMTPSA id", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Implicit_TLS_endpoint_accepts_mail()
    {
        await using var listener = await TestListener.StartAsync(o => o.Endpoints.Add(new InboundEndpointOptions { Address = "127.0.0.1", Port = 0, ImplicitTls = true }));
        using (var client = await Clients.MailKitAsync(listener.PortAt(1), SecureSocketOptions.SslOnConnect))
        {
            Assert.True(client.IsSecure);
            await client.SendAsync(Clients.Message(subject: "implicit"));
            await client.DisconnectAsync(quit: true);
        }

        Assert.Single(listener.StoredMessages());
    }

    [Fact]
    public async Task Listens_on_IPv6_and_records_the_client_address_as_an_IPv6_literal()
    {
        await using var listener = await TestListener.StartAsync(o => o.Endpoints = [new InboundEndpointOptions { Address = "::1", Port = 0 }]);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetworkV6, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(System.Net.IPAddress.IPv6Loopback, listener.Port);
        using var client = new MailKit.Net.Smtp.SmtpClient { LocalDomain = "client.test" };
        await client.ConnectAsync(socket, "::1", listener.Port, SecureSocketOptions.None);
        await client.SendAsync(Clients.Message());
        await client.DisconnectAsync(quit: true);

        var path = Assert.Single(listener.StoredMessages());
        Assert.StartsWith("Received: from client.test ([IPv6:::1])", File.ReadAllText(path), StringComparison.Ordinal);
        Assert.Contains("\"clientIp\": \"::1\"", File.ReadAllText(Path.ChangeExtension(path, ".json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Greeting_and_EHLO_name_the_server_and_offer_STARTTLS_and_SIZE()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAsync(listener.Port);
        Assert.Equal("220 mx.example.test ESMTP ready", (await client.ReadReplyAsync()).Text);
        var ehlo = await client.CommandAsync("EHLO client.test");
        Assert.StartsWith("250-mx.example.test Hello client.test", ehlo.Text, StringComparison.Ordinal);
        Assert.Contains("STARTTLS", ehlo.Text, StringComparison.Ordinal);
        Assert.Contains("SIZE 26214400", ehlo.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("AUTH", ehlo.Text, StringComparison.Ordinal);
    }
}
