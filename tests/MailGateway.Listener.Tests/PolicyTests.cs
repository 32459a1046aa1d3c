using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace MailGateway.Listener.Tests;

/// <summary>Never an open relay, AUTH only over TLS with hashed credentials, address checks.</summary>
public sealed class PolicyTests
{
    private static InboundUserOptions User(string name, string password) =>
        new() { UserName = name, PasswordHash = PasswordHash.Create(password, 1000) };

    [Fact]
    public async Task Rejects_relay_attempt_with_550_5_7_1()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
        var reply = await client.CommandAsync("RCPT TO:<victim@elsewhere.test>");
        Assert.Equal(550, reply.Code);
        Assert.StartsWith("550 5.7.1 ", reply.Text, StringComparison.Ordinal);
        Assert.Equal(550, (await client.CommandAsync("RCPT TO:<victim@[127.0.0.1]>")).Code);
        Assert.Equal(550, (await client.CommandAsync("RCPT TO:<victim@sub.example.test>")).Code);
        Assert.NotEqual(354, (await client.CommandAsync("DATA")).Code);
        Assert.Empty(listener.StoredMessages());
    }

    [Fact]
    public async Task Rejects_relay_attempt_even_after_authentication()
    {
        await using var listener = await TestListener.StartAsync(o => o.Users = [User("app", "pw")]);
        using var client = await Clients.MailKitAsync(listener.Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync("app", "pw");
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Clients.Message(to: "victim@elsewhere.test")));
        Assert.Equal(SmtpStatusCode.MailboxUnavailable, error.StatusCode);
        Assert.Empty(listener.StoredMessages());
    }

    [Fact]
    public async Task Accepts_recipient_domain_case_insensitively()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<User@EXAMPLE.Test>")).Code);
    }

    [Fact]
    public async Task AUTH_is_not_offered_or_accepted_without_TLS()
    {
        await using var listener = await TestListener.StartAsync(o => o.Users = [User("app", "pw")]);
        await using var client = await RawSmtpClient.ConnectAsync(listener.Port);
        await client.ReadReplyAsync();
        var ehlo = await client.CommandAsync("EHLO client.test");
        Assert.DoesNotContain("AUTH", ehlo.Text, StringComparison.Ordinal);
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0app\0pw"));
        var reply = await client.CommandAsync("AUTH PLAIN " + plain);
        Assert.InRange(reply.Code, 500, 599);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task AUTH_over_STARTTLS_accepts_the_right_password()
    {
        await using var listener = await TestListener.StartAsync(o => o.Users = [User("app", "pw")]);
        using var client = await Clients.MailKitAsync(listener.Port, SecureSocketOptions.StartTls);
        Assert.Contains("PLAIN", client.AuthenticationMechanisms);
        await client.AuthenticateAsync("app", "pw");
        Assert.True(client.IsAuthenticated);
    }

    [Fact]
    public async Task AUTH_with_a_wrong_password_answers_535()
    {
        await using var listener = await TestListener.StartAsync(o => o.Users = [User("app", "pw")]);
        using var client = await Clients.MailKitAsync(listener.Port, SecureSocketOptions.StartTls);
        var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("app", "wrong"));
        Assert.Contains("535", error.Message + (error.InnerException?.Message ?? ""), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUTH_for_an_unknown_user_answers_535_over_raw_TLS()
    {
        await using var listener = await TestListener.StartAsync(o => o.Users = [User("app", "pw")]);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.StartTlsAsync();
        var ehlo = await client.CommandAsync("EHLO client.test");
        Assert.Contains("AUTH PLAIN LOGIN", ehlo.Text, StringComparison.Ordinal);
        var reply = await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0nobody\0pw")));
        Assert.Equal(535, reply.Code);
    }

    [Fact]
    public async Task AUTH_LOGIN_over_TLS_accepts_the_right_password_and_counts_failures()
    {
        await using var listener = await TestListener.StartAsync(o =>
        {
            o.Users = [User("app", "pw")];
            o.MaxAuthenticationAttempts = 2;
        });
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("STARTTLS");
        await client.StartTlsAsync();
        await client.CommandAsync("EHLO client.test");
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

        Assert.Equal(334, (await client.CommandAsync("AUTH LOGIN")).Code);
        Assert.Equal(334, (await client.CommandAsync(B64("app"))).Code);
        Assert.Equal(535, (await client.CommandAsync(B64("nope"))).Code);

        Assert.Equal(334, (await client.CommandAsync("AUTH LOGIN " + B64("app"))).Code);
        Assert.Equal(235, (await client.CommandAsync(B64("pw"))).Code);
    }

    [Fact]
    public async Task Too_many_failed_AUTH_attempts_close_the_session()
    {
        await using var listener = await TestListener.StartAsync(o =>
        {
            o.Users = [User("app", "pw")];
            o.MaxAuthenticationAttempts = 2;
        });
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("STARTTLS");
        await client.StartTlsAsync();
        await client.CommandAsync("EHLO client.test");
        var wrong = "AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0app\0wrong"));
        Assert.Equal(535, (await client.CommandAsync(wrong)).Code);
        Assert.Equal(535, (await client.CommandAsync(wrong)).Code);
        Assert.Equal(221, (await client.ReadReplyAsync()).Code);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Without_configured_users_AUTH_is_refused_even_over_TLS()
    {
        // SmtpServer's default authenticator accepts any password; ours has no users to match.
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("STARTTLS");
        await client.StartTlsAsync();
        var ehlo = await client.CommandAsync("EHLO client.test");
        Assert.DoesNotContain("AUTH", ehlo.Text, StringComparison.Ordinal);
        var reply = await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0anyone\0anything")));
        Assert.Equal(535, reply.Code);
    }

    [Fact]
    public async Task Endpoint_requiring_authentication_refuses_MAIL_before_AUTH()
    {
        await using var listener = await TestListener.StartAsync(o =>
        {
            o.Users = [User("app", "pw")];
            o.Endpoints[0].RequireAuthentication = true;
        });
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(530, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);

        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.StartTlsAsync();
        await client.CommandAsync("EHLO client.test");
        Assert.Equal(530, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0app\0pw")))).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
    }

    [Theory]
    [InlineData("<\"a\\\u0001b\"@example.test>")]
    [InlineData("<\"../../etc/passwd\"@example.test>")]
    [InlineData("<\"a/b\"@example.test>")]
    [InlineData("<a/b@example.test>")]
    [InlineData("<\"a\\\\b\"@example.test>")]
    [InlineData("<\"a..b\"@example.test>")]
    [InlineData("<a@exa..mple.test>")]
    [InlineData("<\"a\u007f\"@example.test>")]
    public async Task Refuses_control_characters_and_path_parts_in_addresses_without_ending_the_session(string address)
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
        var reply = await client.CommandAsync("RCPT TO:" + address);
        Assert.True(reply.Code is 501 or 553, reply.Text);

        // The session is intact: the same transaction goes on.
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<ok@example.test>")).Code);
        var from = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await using (from)
        {
            var mail = await from.CommandAsync("MAIL FROM:" + address.Replace("example.test", "remote.test", StringComparison.Ordinal));
            Assert.True(mail.Code is 501 or 553, mail.Text);
            Assert.Equal(250, (await from.CommandAsync("NOOP")).Code);
        }
    }

    [Fact]
    public async Task PROXY_command_is_refused()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAsync(listener.Port);
        await client.ReadReplyAsync();
        var reply = await client.CommandAsync("PROXY TCP4 10.0.0.1 127.0.0.1 1234 25");
        Assert.Equal(500, reply.Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO client.test")).Code);
    }

    [Fact]
    public async Task STARTTLS_with_a_pipelined_command_does_not_execute_it()
    {
        await using var listener = await TestListener.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);

        // One packet: STARTTLS and a spoofed transaction an attacker injected in plain text.
        await client.SendAsync("STARTTLS\r\nMAIL FROM:<spoof@evil.test>\r\nRCPT TO:<user@example.test>\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        await client.StartTlsAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO client.test")).Code);

        // Had the injected MAIL/RCPT run, RCPT would be accepted and DATA would answer 354.
        Assert.NotEqual(354, (await client.CommandAsync("DATA")).Code);
        var rcpt = await client.CommandAsync("RCPT TO:<user@example.test>");
        Assert.NotEqual(250, rcpt.Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<real@remote.test>")).Code);
    }
}
