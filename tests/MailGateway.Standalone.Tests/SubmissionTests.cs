using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using MailGateway.Listener.Submission;
using MailGateway.Testing;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// SMTP submission on the standalone host, end to end: real clients (MailKit, System.Net.Mail, a raw socket) over
/// real TLS with the test CA's certificate, API keys as credentials, the SQLite pipeline, a real relay.
/// </summary>
public sealed partial class SubmissionTests : IAsyncLifetime
{
    private const string Body = "From: App <app@example.com>\r\nTo: rcpt@example.net\r\nSubject: raw\r\n\r\nHello over submission.\r\n";

    private TestRelay _relay = null!;
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync();
        _host = await StartAsync(_relay);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
    }

    /// <summary>The gateway with the test CA's server certificate (MailGateway:Inbound:Tls) and the operator keys.</summary>
    internal static Task<GatewayHost> StartAsync(TestRelay? relay, Action<Dictionary<string, string?>>? configure = null) =>
        GatewayHost.StartAsync(relay, s =>
        {
            s["MailGateway:Inbound:Tls:CertificatePath"] = TestCertificates.Shared.WriteServerPfxFile("pfx-pw");
            s["MailGateway:Inbound:Tls:CertificatePassword"] = "pfx-pw";
            s["MailGateway:Submission:AuthFailureDelay"] = "00:00:00";
            OperatorKeys.Configure(s);
            configure?.Invoke(s);
        });

    internal static SubmissionListenerService Submission(GatewayHost host) => host.Services.GetRequiredService<SubmissionListenerService>();

    private int StartTlsPort => Submission(_host).LocalEndpoints[0].Port;

    private int ImplicitTlsPort => Submission(_host).LocalEndpoints[1].Port;

    [Fact]
    public async Task MailKit_submits_over_STARTTLS_and_the_reply_names_the_gateway_id_of_an_ordinary_message()
    {
        string reply;
        using (var client = await MailKitAsync(StartTlsPort, SecureSocketOptions.StartTls))
        {
            await client.AuthenticateAsync("app", GatewayHost.AppKey);
            reply = await client.SendAsync(Message("via MailKit"));
            await client.DisconnectAsync(quit: true);
        }

        var id = QueuedId(reply);
        var status = await _host.WaitForStatusAsync(id, "delivered");
        Assert.Equal("delivered", status.GetProperty("recipients")[0].GetProperty("status").GetString());
        var relayed = Assert.Single(_relay.Messages, m => Text(m.Data).Contains("Subject: via MailKit", StringComparison.Ordinal));
        Assert.Equal("app@example.com", relayed.MailFrom);
        Assert.Equal(["rcpt@example.net"], relayed.Recipients);
        Assert.Contains("with ESMTPSA", Text(relayed.Data), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MailKit_submits_over_implicit_TLS_with_AUTH_LOGIN()
    {
        string reply;
        using (var client = await MailKitAsync(ImplicitTlsPort, SecureSocketOptions.SslOnConnect))
        {
            Assert.True(client.IsSecure);
            Assert.Contains("LOGIN", client.AuthenticationMechanisms);
            client.AuthenticationMechanisms.Remove("PLAIN");
            await client.AuthenticateAsync("app", GatewayHost.AppKey);
            reply = await client.SendAsync(Message("implicit TLS"));
            await client.DisconnectAsync(quit: true);
        }

        await _host.WaitForStatusAsync(QueuedId(reply), "delivered");
    }

    [Fact]
    public async Task System_Net_Mail_SmtpClient_submits_with_STARTTLS()
    {
        // System.Net.Mail takes its certificate check from ServicePointManager only (process-wide): this one accepts
        // what the platform accepts, plus certificates of the test CA, so other users of the process lose nothing.
#pragma warning disable SYSLIB0014 // ServicePointManager is obsolete, but it is SmtpClient's only certificate hook.
        ServicePointManager.ServerCertificateValidationCallback = (_, certificate, _, errors) =>
            errors == System.Net.Security.SslPolicyErrors.None || RawSmtpClient.TrustsTestAuthority(certificate);
#pragma warning restore SYSLIB0014

        // Obsolete-marked ("use MailKit"), yet still what many applications use: it must work against the gateway.
#pragma warning disable CS0618, SYSLIB0014
        using (var client = new System.Net.Mail.SmtpClient("localhost", StartTlsPort)
        {
            EnableSsl = true,
            Credentials = new NetworkCredential("app", GatewayHost.AppKey),
            DeliveryMethod = System.Net.Mail.SmtpDeliveryMethod.Network,
        })
        using (var mail = new System.Net.Mail.MailMessage("app@example.com", "rcpt@example.net", "via System.Net.Mail", "Hello from SmtpClient."))
        {
            await client.SendMailAsync(mail);
        }
#pragma warning restore CS0618, SYSLIB0014

        var relayed = await Poll.UntilAsync(
            () => Task.FromResult(_relay.Messages.FirstOrDefault(m => Text(m.Data).Contains("via System.Net.Mail", StringComparison.Ordinal))),
            m => m is not null,
            _ => "the System.Net.Mail message reaches the relay");
        Assert.Equal("app@example.com", relayed!.MailFrom);
    }

    [Fact]
    public async Task Bcc_is_removed_from_the_headers_and_a_missing_Message_ID_is_the_gateway_id()
    {
        await using var client = await AuthenticatedAsync(GatewayHost.AppKey);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<app@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<rcpt@example.net>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<hidden@example.org>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        var reply = await client.CommandAsync("From: App <app@example.com>\r\nTo: rcpt@example.net\r\nBcc: hidden@example.org\r\nSubject: bcc\r\n\r\nHi.\r\n.");
        Assert.Equal(250, reply.Code);
        var id = QueuedId(reply.Text);

        await _host.WaitForStatusAsync(id, "delivered");
        var relayed = Assert.Single(_relay.Messages, m => Text(m.Data).Contains("Subject: bcc", StringComparison.Ordinal));
        Assert.Equal(["rcpt@example.net", "hidden@example.org"], relayed.Recipients);
        var headers = Text(relayed.Data)[..Text(relayed.Data).IndexOf("\r\n\r\n", StringComparison.Ordinal)];
        Assert.DoesNotContain("hidden@example.org", headers, StringComparison.Ordinal);
        Assert.Contains($"Message-ID: <{id}@example.com>", headers, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AUTH_in_clear_is_refused_with_538_and_MAIL_before_AUTH_with_530()
    {
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(StartTlsPort, ehlo: null);
        var ehlo = await client.CommandAsync("EHLO client.test");
        Assert.Contains("STARTTLS", ehlo.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("AUTH", ehlo.Text, StringComparison.Ordinal);
        var reply = await client.CommandAsync(RawSmtpClient.AuthPlain("app", GatewayHost.AppKey));
        Assert.Equal(538, reply.Code);
        Assert.Contains("5.7.11", reply.Text, StringComparison.Ordinal);
        Assert.Equal(538, (await client.CommandAsync("AUTH LOGIN")).Code);
        Assert.Equal(530, (await client.CommandAsync("MAIL FROM:<app@example.com>")).Code);
    }

    [Fact]
    public async Task A_wrong_key_is_535_and_the_API_failed_auth_limit_then_answers_454_for_SMTP_and_429_for_HTTP()
    {
        await using var host = await StartAsync(_relay, s => s["MailGateway:RateLimits:FailedAuthPerAddress"] = "3");
        var port = Submission(host).LocalEndpoints[0].Port;
        await using (var client = await StartTlsAsync(port))
        {
            Assert.Equal(535, (await client.CommandAsync(RawSmtpClient.AuthPlain("app", "not-the-key"))).Code);

            // The right key under another key's id is no better.
            Assert.Equal(535, (await client.CommandAsync(RawSmtpClient.AuthPlain("other", GatewayHost.AppKey))).Code);
        }

        await using (var client = await StartTlsAsync(port))
        {
            Assert.Equal(535, (await client.CommandAsync(RawSmtpClient.AuthPlain("app", "still-wrong"))).Code);
            var refused = await client.CommandAsync(RawSmtpClient.AuthPlain("app", GatewayHost.AppKey));
            Assert.Equal(454, refused.Code);
            Assert.Contains("FailedAuthPerAddress", refused.Text, StringComparison.Ordinal);
            Assert.True(await client.IsClosedByServerAsync());
        }

        // One window per address for every entry point of the process.
        using var anonymous = new HttpClient { BaseAddress = host.Client.BaseAddress };
        anonymous.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "guess");
        Assert.Equal((HttpStatusCode)429, (await anonymous.GetAsync("/api/v1/messages/00000000000000000000000000000000")).StatusCode);
    }

    [Fact]
    public async Task A_message_over_the_size_limit_is_552_and_nothing_is_stored()
    {
        await using var host = await StartAsync(_relay, s => s["MailGateway:Messages:MaxMessageBytes"] = "4096");
        await using (var client = await AuthenticatedAsync(GatewayHost.AppKey, Submission(host).LocalEndpoints[0].Port))
        {
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<app@example.com>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<rcpt@example.net>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            var big = Body + string.Concat(Enumerable.Repeat("0123456789 0123456789 0123456789 0123456789 0123456789 0123456789\r\n", 100));
            var reply = await client.CommandAsync(big + ".");
            Assert.Equal(552, reply.Code);

            // The session goes on: a message within the limit is accepted.
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<app@example.com>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<rcpt@example.net>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            Assert.Equal(250, (await client.CommandAsync(Body + ".")).Code);
        }

        Assert.Single(await ListAsync(host));
    }

    [Fact]
    public async Task MAIL_FROM_outside_the_key_sender_domains_is_550_5_7_1_naming_the_rule()
    {
        await using var client = await AuthenticatedAsync(GatewayHost.AppKey);
        var reply = await client.CommandAsync("MAIL FROM:<app@evil.test>");
        Assert.Equal(550, reply.Code);
        Assert.StartsWith("550 5.7.1", reply.Text, StringComparison.Ordinal);
        Assert.Contains("MAIL FROM", reply.Text, StringComparison.Ordinal);
        Assert.Equal(550, (await client.CommandAsync("MAIL FROM:<>")).Code);
    }

    [Fact]
    public async Task Header_From_outside_the_key_sender_domains_is_550_5_7_1_and_nothing_is_stored()
    {
        await using (var client = await AuthenticatedAsync(GatewayHost.AppKey))
        {
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<app@example.com>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<rcpt@example.net>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            var reply = await client.CommandAsync(Body.Replace("From: App <app@example.com>", "From: Boss <boss@evil.test>", StringComparison.Ordinal) + ".");
            Assert.Equal(550, reply.Code);
            Assert.StartsWith("550 5.7.1", reply.Text, StringComparison.Ordinal);
            Assert.Contains("header From", reply.Text, StringComparison.Ordinal);
        }

        Assert.Empty(await ListAsync(_host));
    }

    [Fact]
    public async Task A_key_without_the_send_scope_authenticates_but_may_not_send()
    {
        await using var client = await AuthenticatedAsync(OperatorKeys.ReadOnly, user: "reader");
        var reply = await client.CommandAsync("MAIL FROM:<app@example.com>");
        Assert.Equal(550, reply.Code);
        Assert.Contains("send scope", reply.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hostile_message_bytes_are_refused_with_a_5xx_reply_and_the_session_survives()
    {
        await using var client = await AuthenticatedAsync(GatewayHost.AppKey);
        string[] hostile =
        [
            "From: App <app@example.com>\r\nTo: rcpt@example.net\r\nSubject: bare\nX: y\r\n\r\nbody\r\n",
            "From: App <app@example.com>\r\nTo: rcpt@example.net\r\nSubject: " + new string('x', 1200) + "\r\n\r\nbody\r\n",
            "From: App <app@example.com>\r\nTo: rcpt@example.net\r\nSubject: Gr\u00fc\u00dfe\r\n\r\nbody\r\n",
            "To: rcpt@example.net\r\nSubject: no from\r\n\r\nbody\r\n",
        ];
        foreach (var message in hostile)
        {
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<app@example.com>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<rcpt@example.net>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            await client.SendAsync(Encoding.UTF8.GetBytes(message + ".\r\n"));
            var reply = await client.ReadReplyAsync();
            Assert.True(reply.Code is 550 or 554, $"{reply.Code} {reply.Text}");
            Assert.DoesNotContain("   at ", reply.Text, StringComparison.Ordinal);
        }

        Assert.Empty(await ListAsync(_host));
    }

    [Fact]
    public async Task An_8bit_body_with_long_lines_is_normalised_to_7bit_before_it_is_stored()
    {
        await using var client = await AuthenticatedAsync(GatewayHost.AppKey);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<app@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<rcpt@example.net>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        var body = "From: App <app@example.com>\r\nTo: rcpt@example.net\r\nSubject: eightbit\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\u00fc\u00dfe aus K\u00f6ln " + new string('w', 1500) + "\r\n.\r\n";
        await client.SendAsync(Encoding.UTF8.GetBytes(body));
        var reply = await client.ReadReplyAsync();
        Assert.Equal(250, reply.Code);
        await _host.WaitForStatusAsync(QueuedId(reply.Text), "delivered");

        var relayed = Assert.Single(_relay.Messages, m => Text(m.Data).Contains("Subject: eightbit", StringComparison.Ordinal)).Data;
        Assert.DoesNotContain(relayed, b => b >= 0x80);
        Assert.All(Text(relayed).Split("\r\n"), line => Assert.True(line.Length <= 998, line.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var parsed = MimeMessage.Load(new MemoryStream(relayed));
        Assert.StartsWith("Gr\u00fc\u00dfe aus K\u00f6ln www", parsed.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public void The_banner_shows_the_submission_endpoints()
    {
        var banner = StandaloneListenerTests.Banner(_host);
        Assert.Contains($"Submission SMTP: 127.0.0.1:{StartTlsPort} (STARTTLS), 127.0.0.1:{ImplicitTlsPort} (implicit TLS)", banner, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submission_can_be_turned_off()
    {
        await using var host = await StartAsync(_relay, s => s["MailGateway:Submission:Enabled"] = "false");
        Assert.Empty(Submission(host).LocalEndpoints);
        Assert.DoesNotContain("Submission SMTP", StandaloneListenerTests.Banner(host), StringComparison.Ordinal);
    }

    internal static async Task<SmtpClient> MailKitAsync(int port, SecureSocketOptions security)
    {
        var client = new SmtpClient
        {
            ServerCertificateValidationCallback = (_, certificate, _, _) => RawSmtpClient.TrustsTestAuthority(certificate),
            Timeout = 30_000,
            LocalDomain = "client.test",
        };
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await client.ConnectAsync(socket, "localhost", port, security);
        return client;
    }

    internal static MimeMessage Message(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("App", "app@example.com"));
        message.To.Add(MailboxAddress.Parse("rcpt@example.net"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello over submission.\r\n" };
        return message;
    }

    internal static string QueuedId(string reply)
    {
        var match = QueuedAs().Match(reply);
        Assert.True(match.Success, reply);
        return match.Groups[1].Value;
    }

    private static async Task<RawSmtpClient> StartTlsAsync(int port)
    {
        var client = await RawSmtpClient.ConnectAndGreetAsync(port);
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.StartTlsAsync();
        var ehlo = await client.CommandAsync("EHLO client.test");
        Assert.Contains("AUTH", ehlo.Text, StringComparison.Ordinal);
        return client;
    }

    private async Task<RawSmtpClient> AuthenticatedAsync(string key, int? port = null, string user = "app")
    {
        var client = await StartTlsAsync(port ?? StartTlsPort);
        Assert.Equal(235, (await client.CommandAsync(RawSmtpClient.AuthPlain(user, key))).Code);
        return client;
    }

    private static async Task<List<System.Text.Json.JsonElement>> ListAsync(GatewayHost host)
    {
        using var admin = OperatorKeys.Client(host, OperatorKeys.Admin);
        var body = await GatewayHost.ReadAsync(await admin.GetAsync("/api/v1/messages"));
        return [.. body.GetProperty("items").EnumerateArray()];
    }

    private static string Text(byte[] data) => Encoding.Latin1.GetString(data);

    [GeneratedRegex(@"queued as ([0-9a-f]{32})")]
    private static partial Regex QueuedAs();
}
