using System.Net;
using System.Text;
using MailGateway.Core.Bounces;
using MailGateway.Listener;
using MailGateway.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using MimeKit;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// Bounce processing through the real host: the gateway sends with a signed VERP sender to the test relay, a DSN
/// composed here to RFC 3464 comes back over SMTP to the host's own listener on loopback, and the recipient becomes
/// bounced and suppressed; a forged token is stored but not applied, and counted.
/// </summary>
public sealed class BounceTests
{
    private const string BounceDomain = "bounces.gateway.test";
    private const string Secret = "a-test-secret-of-at-least-32-characters";

    private static async Task<GatewayHost> StartAsync(TestRelay relay) => await GatewayHost.StartAsync(relay, s =>
    {
        s["MailGateway:Bounces:Domain"] = BounceDomain;
        s["MailGateway:Bounces:Secret"] = Secret;
        s["MailGateway:Inbound:ServerName"] = "mx.gateway.test";
        s["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1";
        s["MailGateway:Inbound:Endpoints:0:Port"] = "0";
    });

    [Fact]
    public async Task A_DSN_for_the_VERP_sender_makes_the_recipient_bounced_and_suppressed_and_the_next_send_never_reaches_the_relay()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await StartAsync(relay);
        using var bounces = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), BounceProcessor.MeterName, BounceProcessor.CounterName);

        var id = await host.SendAsync(new { from = "app@example.com", to = new[] { "ok@example.net", "bob@example.net" }, text = "x" });
        await host.WaitForStatusAsync(id, "delivered");

        // One transaction per recipient, each with its own signed sender that names no recipient.
        var relayed = await relay.WaitForMessagesAsync(2);
        Assert.All(relayed, m => Assert.Single(m.Recipients));
        Assert.All(relayed, m => Assert.Matches($"^bounces\\+[a-z2-7]{{45}}@{Regex(BounceDomain)}$", m.MailFrom));
        Assert.All(relayed, m => Assert.DoesNotContain("bob", m.MailFrom, StringComparison.OrdinalIgnoreCase));
        Assert.NotEqual(relayed[0].MailFrom, relayed[1].MailFrom);
        var toBob = relayed.Single(m => m.Recipients[0] == "bob@example.net");

        var reply = await DeliverAsync(host, "", toBob.MailFrom, Dsn(toBob.MailFrom, "bob@example.net", "5.1.1", "smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown"));
        Assert.Equal(250, reply);

        var status = await Poll.UntilAsync(
            () => host.StatusAsync(id),
            s => s.GetProperty("recipients").EnumerateArray().Any(r => r.GetProperty("status").GetString() == "bounced"));
        var states = status.GetProperty("recipients").EnumerateArray().ToDictionary(r => r.GetProperty("address").GetString()!, r => r);
        Assert.Equal("delivered", states["ok@example.net"].GetProperty("status").GetString());
        Assert.Equal("bounced", states["bob@example.net"].GetProperty("status").GetString());
        Assert.StartsWith("550 5.1.1", states["bob@example.net"].GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.Equal("delivered", status.GetProperty("status").GetString());

        var events = await SuppressionTests.EventsAsync(host, id);
        Assert.Contains(events, e => e.Type == "bounced" && e.Recipient == "bob@example.net" && e.Reply!.Contains("5.1.1", StringComparison.Ordinal));
        using (var feed = await host.Client.GetAsync("/api/v1/events?types=bounced"))
        {
            Assert.Single((await GatewayHost.ReadAsync(feed)).GetProperty("events").EnumerateArray());
        }

        var entry = (await GatewayHost.ReadAsync(await host.Client.GetAsync("/api/v1/suppressions?address=bob@example.net"))).GetProperty("suppressions")[0];
        Assert.Equal("bounce", entry.GetProperty("reason").GetString());
        Assert.Equal(id, entry.GetProperty("messageId").GetString());
        Assert.Contains(bounces.GetMeasurementSnapshot(), m => (string?)m.Tags["outcome"] == "applied");

        // The report itself is stored like any inbound message.
        Assert.Single(Directory.GetFiles(System.IO.Path.Combine(host.DataDirectory, "inbound"), "*.eml", SearchOption.AllDirectories));

        var sessions = relay.SessionCount;
        var next = await host.SendAsync(GatewayHost.Message(to: "bob@example.net"));
        await host.WaitForStatusAsync(next, "suppressed");
        Assert.Equal(sessions, relay.SessionCount);
    }

    [Fact]
    public async Task A_forged_or_altered_token_is_stored_but_not_applied_and_counted()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await StartAsync(relay);
        using var bounces = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), BounceProcessor.MeterName, BounceProcessor.CounterName);
        var id = await host.SendAsync(GatewayHost.Message(to: "bob@example.net"));
        await host.WaitForStatusAsync(id, "delivered");
        var sender = Assert.Single(await relay.WaitForMessagesAsync(1)).MailFrom;

        // One character of the signed token changed; a token signed with another secret; no token at all.
        var local = sender[..sender.IndexOf('@', StringComparison.Ordinal)];
        var altered = local[..^1] + (local[^1] == 'a' ? 'b' : 'a') + "@" + BounceDomain;
        var otherSecret = new BounceAddresses(Microsoft.Extensions.Options.Options.Create(new BounceOptions { Domain = BounceDomain, Secret = new string('x', 40) }))
            .For(id, 0)!;
        foreach (var forged in new[] { altered, otherSecret, "bounces@" + BounceDomain, "postmaster@" + BounceDomain })
        {
            Assert.Equal(250, await DeliverAsync(host, "", forged, Dsn(forged, "bob@example.net", "5.1.1", "smtp; 550 5.1.1 unknown")));
        }

        await Poll.UntilAsync(
            () => Task.FromResult(bounces.GetMeasurementSnapshot().Count(m => (string?)m.Tags["outcome"] == "forged")),
            count => count == 4);
        var status = await host.StatusAsync(id);
        Assert.Equal("delivered", Assert.Single(status.GetProperty("recipients").EnumerateArray()).GetProperty("status").GetString());
        Assert.Empty((await GatewayHost.ReadAsync(await host.Client.GetAsync("/api/v1/suppressions"))).GetProperty("suppressions").EnumerateArray());
        Assert.DoesNotContain(await SuppressionTests.EventsAsync(host, id), e => e.Type == "bounced");
        Assert.Equal(4, Directory.GetFiles(System.IO.Path.Combine(host.DataDirectory, "inbound"), "*.eml", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task A_report_that_is_no_DSN_or_only_a_delay_is_stored_and_counted_but_changes_nothing()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await StartAsync(relay);
        using var bounces = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), BounceProcessor.MeterName, BounceProcessor.CounterName);
        var id = await host.SendAsync(GatewayHost.Message(to: "bob@example.net"));
        await host.WaitForStatusAsync(id, "delivered");
        var sender = Assert.Single(await relay.WaitForMessagesAsync(1)).MailFrom;

        var plain = new MimeMessage([MailboxAddress.Parse("MAILER-DAEMON@example.net")], [MailboxAddress.Parse(sender)], "Out of office", new TextPart("plain") { Text = "I am away." });
        Assert.Equal(250, await DeliverAsync(host, "", sender, plain));
        Assert.Equal(250, await DeliverAsync(host, "", sender, Dsn(sender, "bob@example.net", "4.4.1", "smtp; 451 4.4.1 try later", action: "delayed")));

        await Poll.UntilAsync(() => Task.FromResult(bounces.GetMeasurementSnapshot().Select(m => (string?)m.Tags["outcome"]).ToList()),
            outcomes => outcomes.Contains("not_a_report") && outcomes.Contains("not_failed"));
        Assert.Equal("delivered", Assert.Single((await host.StatusAsync(id)).GetProperty("recipients").EnumerateArray()).GetProperty("status").GetString());
        Assert.Empty((await GatewayHost.ReadAsync(await host.Client.GetAsync("/api/v1/suppressions"))).GetProperty("suppressions").EnumerateArray());
    }

    [Fact]
    public async Task An_ARF_complaint_suppresses_the_recipient_and_a_report_over_the_size_limit_is_only_stored()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, s =>
        {
            s["MailGateway:Bounces:Domain"] = BounceDomain;
            s["MailGateway:Bounces:Secret"] = Secret;
            s["MailGateway:Bounces:MaxReportBytes"] = "4096";
            s["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1";
            s["MailGateway:Inbound:Endpoints:0:Port"] = "0";
        });
        using var bounces = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), BounceProcessor.MeterName, BounceProcessor.CounterName);
        var id = await host.SendAsync(new { from = "app@example.com", to = new[] { "angry@example.net", "big@example.net" }, text = "x" });
        await host.WaitForStatusAsync(id, "delivered");
        var relayed = await relay.WaitForMessagesAsync(2);
        var toAngry = relayed.Single(m => m.Recipients[0] == "angry@example.net").MailFrom;
        var toBig = relayed.Single(m => m.Recipients[0] == "big@example.net").MailFrom;

        var feedback = new MessageFeedbackReport();
        feedback.Fields.Add("Feedback-Type", "abuse");
        feedback.Fields.Add("User-Agent", "isp-fbl/1.0");
        feedback.Fields.Add("Version", "1");
        var arf = new MimeMessage([MailboxAddress.Parse("fbl@isp.example")], [MailboxAddress.Parse(toAngry)], "Abuse report",
            new MultipartReport("feedback-report") { new TextPart("plain") { Text = "A user marked this as spam." }, feedback });
        Assert.Equal(250, await DeliverAsync(host, "fbl@isp.example", toAngry, arf));

        var huge = Dsn(toBig, "big@example.net", "5.1.1", "smtp; 550 5.1.1 unknown");
        ((MultipartReport)huge.Body!)[0] = new TextPart("plain") { Text = new string('x', 8000) };
        Assert.Equal(250, await DeliverAsync(host, "", toBig, huge));

        await Poll.UntilAsync(() => Task.FromResult(bounces.GetMeasurementSnapshot().Select(m => (string?)m.Tags["outcome"]).ToList()),
            outcomes => outcomes.Contains("applied") && outcomes.Contains("too_big"),
            outcomes => "outcomes: " + string.Join(", ", outcomes));
        var entry = Assert.Single((await GatewayHost.ReadAsync(await host.Client.GetAsync("/api/v1/suppressions"))).GetProperty("suppressions").EnumerateArray());
        Assert.Equal(("angry@example.net", "complaint"), (entry.GetProperty("address").GetString(), entry.GetProperty("reason").GetString()));
        Assert.Equal(2, Directory.GetFiles(System.IO.Path.Combine(host.DataDirectory, "inbound"), "*.eml", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task Without_a_bounce_domain_the_envelope_sender_is_the_from_address_as_before()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);
        var id = await host.SendAsync(new { from = "app@example.com", to = new[] { "a@example.net", "b@example.net" }, text = "x" });
        await host.WaitForStatusAsync(id, "delivered");
        var relayed = Assert.Single(await relay.WaitForMessagesAsync(1));
        Assert.Equal("app@example.com", relayed.MailFrom);
        Assert.Equal(2, relayed.Recipients.Count);
    }

    /// <summary>A DSN as RFC 3464 lays it out (<see cref="BounceReports.Dsn"/>).</summary>
    internal static MimeMessage Dsn(string to, string recipient, string status, string diagnostic, string action = "failed") =>
        BounceReports.Dsn(to, recipient, status, diagnostic, action);

    /// <summary>Delivers <paramref name="message"/> to the host's listener with a raw SMTP session (the null reverse path of a bounce); returns the reply to the final dot.</summary>
    internal static async Task<int> DeliverAsync(GatewayHost host, string mailFrom, string rcptTo, MimeMessage message)
    {
        var port = host.Services.GetRequiredService<InboundListenerService>().LocalEndpoints.Single().Port;
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(port, "relay.test");
        Assert.Equal(250, (await client.CommandAsync($"MAIL FROM:<{mailFrom}>")).Code);
        Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{rcptTo}>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        using var buffer = new MemoryStream();
        await message.WriteToAsync(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, buffer);
        var text = Encoding.UTF8.GetString(buffer.ToArray());
        if (!text.EndsWith("\r\n", StringComparison.Ordinal))
        {
            text += "\r\n";
        }

        text = (text.StartsWith('.') ? "." : "") + text.Replace("\r\n.", "\r\n..", StringComparison.Ordinal);
        await client.SendAsync(Encoding.UTF8.GetBytes(text + ".\r\n"));
        var reply = (await client.ReadReplyAsync()).Code;
        await client.CommandAsync("QUIT");
        return reply;
    }

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
