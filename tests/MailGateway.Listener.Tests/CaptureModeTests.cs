using System.Text.Json;
using MailGateway.Listener.Storage;
using MailKit.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MailGateway.Listener.Tests;

/// <summary>AcceptAllRecipients: any recipient domain, on loopback endpoints only; every other rule still applies.</summary>
public sealed class CaptureModeTests
{
    private static IServiceProvider Services(params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.AddInboundListener(2525);
        return builder.Build().Services;
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.0.2.10")]
    [InlineData("::ffff:192.0.2.10")]
    public void AcceptAllRecipients_is_refused_at_start_on_a_non_loopback_endpoint(string address)
    {
        var services = Services(
            ("MailGateway:Inbound:AcceptAllRecipients", "true"),
            ("MailGateway:Inbound:Endpoints:0:Address", "127.0.0.1"),
            ("MailGateway:Inbound:Endpoints:1:Address", address));

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<InboundListenerOptions>>().Value);

        Assert.Contains("MailGateway:Inbound:AcceptAllRecipients", error.Message, StringComparison.Ordinal);
        Assert.Contains("MailGateway:Inbound:Endpoints:1:Address", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptAllRecipients_is_refused_on_the_default_endpoint_which_binds_every_address()
    {
        var services = Services(("MailGateway:Inbound:AcceptAllRecipients", "true"));

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<InboundListenerOptions>>().Value);

        Assert.Contains("MailGateway:Inbound:AcceptAllRecipients", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.2")]
    [InlineData("::1")]
    public void AcceptAllRecipients_is_accepted_on_loopback_without_domains(string address)
    {
        var services = Services(
            ("MailGateway:Inbound:AcceptAllRecipients", "true"),
            ("MailGateway:Inbound:Endpoints:0:Address", address),
            ("MailGateway:Inbound:Endpoints:0:Port", "0"));

        var options = services.GetRequiredService<IOptions<InboundListenerOptions>>().Value;

        Assert.True(options.AcceptAllRecipients);
        Assert.Empty(options.Domains);
    }

    [Fact]
    public void Without_AcceptAllRecipients_domains_are_still_required()
    {
        var services = Services(("MailGateway:Inbound:Endpoints:0:Address", "127.0.0.1"));

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<InboundListenerOptions>>().Value);

        Assert.Contains("MailGateway:Inbound:Domains", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listener_built_without_a_host_refuses_to_start_in_capture_mode_on_all_addresses()
    {
        var options = new InboundListenerOptions
        {
            AcceptAllRecipients = true,
            Endpoints = [new InboundEndpointOptions { Address = "0.0.0.0", Port = 0 }],
        };
        var store = new FileSystemInboundMessageStore(Path.Combine(Path.GetTempPath(), "mailgateway-capture-" + Guid.NewGuid().ToString("N")));
        await using var listener = new InboundListener(options, store, null, TimeProvider.System, NullLoggerFactory.Instance, new MailGateway.Testing.TestMeterFactory());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => listener.StartAsync(CancellationToken.None));

        Assert.Contains("AcceptAllRecipients", error.Message, StringComparison.Ordinal);
        Assert.Empty(listener.LocalEndpoints);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task With_AcceptAllRecipients_mail_to_any_domain_is_accepted_and_stored(string address)
    {
        await using var listener = await TestListener.StartAsync(
            o =>
            {
                o.AcceptAllRecipients = true;
                o.Domains = [];
                o.Endpoints = [new InboundEndpointOptions { Address = address, Port = 0 }];
            },
            tls: false);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port, address: System.Net.IPAddress.Parse(address));

        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<app@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<someone@anywhere.example>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<other@EXAMPLE.NET>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("Subject: captured\r\n\r\nHello.\r\n.")).Code);

        var stored = listener.StoredMessages();
        var eml = Assert.Single(stored);
        Assert.Contains("Subject: captured", await File.ReadAllTextAsync(eml), StringComparison.Ordinal);
        using var metadata = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.ChangeExtension(eml, ".json")));
        Assert.Equal(new[] { "someone@anywhere.example", "other@EXAMPLE.NET" }, metadata.RootElement.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()!).ToArray());
    }

    [Fact]
    public async Task With_AcceptAllRecipients_address_rules_and_limits_still_apply()
    {
        await using var listener = await TestListener.StartAsync(
            o =>
            {
                o.AcceptAllRecipients = true;
                o.Domains = [];
                o.MaxRecipients = 2;
            },
            tls: false);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);

        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<app@example.com>")).Code);
        Assert.StartsWith("553 5.1.3 ", (await client.CommandAsync("RCPT TO:<a..b@anywhere.example>")).Text, StringComparison.Ordinal);
        Assert.StartsWith("553 5.1.3 ", (await client.CommandAsync("RCPT TO:<\"x/y\"@anywhere.example>")).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<one@anywhere.example>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<two@elsewhere.example>")).Code);
        Assert.StartsWith("452 4.5.3 ", (await client.CommandAsync("RCPT TO:<three@elsewhere.example>")).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_AcceptAllRecipients_other_domains_still_get_550_5_7_1()
    {
        await using var listener = await TestListener.StartAsync(o => o.AcceptAllRecipients = false);
        using var client = await Clients.MailKitAsync(listener.Port, SecureSocketOptions.None);

        var error = await Assert.ThrowsAsync<MailKit.Net.Smtp.SmtpCommandException>(() => client.SendAsync(Clients.Message(to: "someone@anywhere.example")));
        await client.SendAsync(Clients.Message(to: "user@" + TestListener.Domain));

        Assert.Equal(MailKit.Net.Smtp.SmtpStatusCode.MailboxUnavailable, error.StatusCode);
        Assert.StartsWith("5.7.1 ", error.Message, StringComparison.Ordinal);
        Assert.Single(listener.StoredMessages());
    }
}
