using System.Net.Sockets;
using System.Text;
using MailKit.Security;

namespace MailGateway.Listener.Tests;

public sealed class IsolationTests
{
    [Fact]
    public async Task A_fault_in_one_session_does_not_affect_others()
    {
        await using var listener = await TestListener.StartAsync();

        // A healthy session, halfway through its message.
        await using var healthy = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await healthy.CommandAsync("MAIL FROM:<a@remote.test>");
        await healthy.CommandAsync("RCPT TO:<b@example.test>");
        Assert.Equal(354, (await healthy.CommandAsync("DATA")).Code);
        await healthy.SendAsync("Subject: survives\r\n\r\nfirst half\r\n");

        // A client that garbles its TLS handshake.
        await using (var garbled = await RawSmtpClient.ConnectAndGreetAsync(listener.Port))
        {
            Assert.Equal(220, (await garbled.CommandAsync("STARTTLS")).Code);
            await garbled.SendAsync("this is not a TLS ClientHello\r\n");
            Assert.True(await garbled.IsClosedByServerAsync());
        }

        // A client that sends AUTH with invalid base64 over TLS (SmtpServer throws inside AUTH).
        await using (var badAuth = await RawSmtpClient.ConnectAndGreetAsync(listener.Port))
        {
            await badAuth.CommandAsync("STARTTLS");
            await badAuth.StartTlsAsync();
            await badAuth.CommandAsync("EHLO client.test");
            Assert.Equal(334, (await badAuth.CommandAsync("AUTH LOGIN")).Code);
            await badAuth.SendAsync("!!!not-base64!!!\r\n");
            Assert.True(await badAuth.IsClosedByServerAsync());
        }

        // A client that resets the connection in the middle of DATA.
        var aborted = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await aborted.CommandAsync("MAIL FROM:<a@remote.test>");
        await aborted.CommandAsync("RCPT TO:<b@example.test>");
        await aborted.CommandAsync("DATA");
        await aborted.SendAsync("Subject: cut\r\n\r\npartial");
        aborted.Socket.LingerState = new LingerOption(true, 0);
        await aborted.DisposeAsync();

        await healthy.SendAsync("second half\r\n.\r\n");
        Assert.Equal(250, (await healthy.ReadReplyAsync()).Code);
        using (var fresh = await Clients.MailKitAsync(listener.Port, SecureSocketOptions.StartTls))
        {
            await fresh.SendAsync(Clients.Message(subject: "after the faults"));
            await fresh.DisconnectAsync(quit: true);
        }

        var subjects = listener.StoredMessages().Select(p => MimeKit.MimeMessage.Load(p).Subject ?? "").Order().ToArray();
        Assert.Equal(["after the faults", "survives"], subjects);

        // Nothing half-written is left behind, and every slot was given back.
        Assert.Empty(Directory.GetFiles(listener.Root, "*.tmp", SearchOption.AllDirectories));
        await LimitTests.PollAsync(() => listener.Listener.OpenConnections == 1);
    }

    [Fact]
    public async Task Stopping_the_listener_closes_open_sessions_and_the_port()
    {
        var listener = await TestListener.StartAsync();
        var port = listener.Port;
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await listener.DisposeAsync();

        // SmtpServer says goodbye ("221 ... cancelled") and closes; the port no longer accepts.
        var last = await client.ReadUntilClosedAsync();
        Assert.All(last, line => Assert.StartsWith("221 ", line, StringComparison.Ordinal));
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(async () => await probe.ConnectAsync(System.Net.IPAddress.Loopback, port));
    }

    [Fact]
    public async Task Handles_200_concurrent_sessions_of_100_KB()
    {
        await using var listener = await TestListener.StartAsync(o =>
        {
            o.MaxConnections = 250;
            o.MaxConnectionsPerClient = 250;
        });
        var body = new StringBuilder();
        while (body.Length < 100 * 1024)
        {
            body.Append(new string('c', 76)).Append("\r\n");
        }

        var text = body.ToString();
        var clients = new List<MailKit.Net.Smtp.SmtpClient>();
        try
        {
            // Open all 200 first so they are truly concurrent, then send from all at once.
            for (var i = 0; i < 200; i++)
            {
                clients.Add(await Clients.MailKitAsync(listener.Port, SecureSocketOptions.None));
            }

            Assert.Equal(200, listener.Listener.OpenConnections);
            await Task.WhenAll(clients.Select((c, i) => c.SendAsync(Clients.Message(subject: "c" + i, body: text))));
            await Task.WhenAll(clients.Select(c => c.DisconnectAsync(quit: true)));
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        var stored = listener.StoredMessages();
        Assert.Equal(200, stored.Length);
        Assert.All(stored, path => Assert.InRange(new FileInfo(path).Length, 100 * 1024, 110 * 1024));
        Assert.Equal(200, stored.Select(p => MimeKit.MimeMessage.Load(p).Subject).Distinct().Count());
    }
}
