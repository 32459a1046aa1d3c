using System.Globalization;
using System.Text.Json;
using MailGateway.Listener;
using MailGateway.Core.Inbound;
using MailGateway.Listener.Storage;
using MailGateway.Testing;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;

namespace MailGateway.Standalone.Tests;

/// <summary>The inbound listener in the standalone host: the capture without a relay, the receiver with inbound domains, or none.</summary>
public sealed class StandaloneListenerTests
{
    internal static string Banner(GatewayHost host) =>
        host.Services.GetServices<IHostedService>().OfType<StartupBanner>().Single().Describe();

    [Fact]
    public async Task With_a_relay_and_inbound_domains_the_host_receives_mail_for_them_into_its_data_folder()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, s =>
        {
            s["MailGateway:Inbound:ServerName"] = "mx.inbound.test";
            s["MailGateway:Inbound:Domains:0"] = "inbound.test";
            s["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1";
            s["MailGateway:Inbound:Endpoints:0:Port"] = "0";
        });
        var port = host.Services.GetRequiredService<InboundListenerService>().LocalEndpoints.Single().Port;
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("someone@remote.example"));
        message.To.Add(MailboxAddress.Parse("support@inbound.test"));
        message.Subject = "Inbound hello";
        message.Body = new TextPart("plain") { Text = "Hello, gateway." };

        using (var client = new SmtpClient { LocalDomain = "client.example" })
        {
            await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None);
            await client.SendAsync(message);
            var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(
                new MimeMessage([MailboxAddress.Parse("someone@remote.example")], [MailboxAddress.Parse("victim@elsewhere.example")], "Relay?", new TextPart("plain") { Text = "x" })));
            Assert.Equal(SmtpStatusCode.MailboxUnavailable, refused.StatusCode);
            await client.DisconnectAsync(quit: true);
        }

        var eml = Assert.Single(Directory.GetFiles(host.DataDirectory, "*.eml", SearchOption.AllDirectories));
        Assert.Matches(@"^inbound/\d{4}/\d{2}/\d{2}/[0-9a-f]+\.eml$", Path.GetRelativePath(host.DataDirectory, eml).Replace('\\', '/'));
        var text = await File.ReadAllTextAsync(eml);
        Assert.StartsWith("Received: from client.example ([127.0.0.1])\r\n\tby mx.inbound.test with ESMTP id ", text, StringComparison.Ordinal);
        Assert.Contains("Subject: Inbound hello", text, StringComparison.Ordinal);
        using var metadata = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.ChangeExtension(eml, ".json")));
        Assert.Equal("support@inbound.test", metadata.RootElement.GetProperty("recipients")[0].GetString());
        Assert.Empty(relay.Messages);
        var banner = Banner(host);
        Assert.Contains($"Inbound SMTP:   127.0.0.1:{port} for inbound.test (messages saved under {Path.Combine(Path.GetFullPath(host.DataDirectory), "inbound")})", banner, StringComparison.Ordinal);
        Assert.DoesNotContain("Capture SMTP", banner, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_relay_and_no_inbound_domains_no_listener_is_started()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);

        Assert.Null(host.Services.GetService<InboundListenerService>());
        Assert.Null(host.Services.GetService<IInboundMessageStore>());
        Assert.Empty(host.Services.GetServices<IHostedService>().OfType<InboundListenerService>());
        Assert.False(Directory.Exists(Path.Combine(host.DataDirectory, "inbound")));
        Assert.False(Directory.Exists(Path.Combine(host.DataDirectory, "capture")));
        var banner = Banner(host);
        Assert.Contains("Relay:          127.0.0.1", banner, StringComparison.Ordinal);

        // No inbound or capture listener; SMTP submission (its own role) runs unless switched off.
        Assert.DoesNotContain("Inbound SMTP:", banner, StringComparison.Ordinal);
        Assert.DoesNotContain("Capture SMTP:", banner, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "MailGateway:Capture:Port", "70000", "MailGateway:Capture", "Port")]
    [InlineData(false, "MailGateway:Capture:Host", "0.0.0.0", "MailGateway:Capture", "MailGateway:Capture:Host must be a loopback IP address")]
    [InlineData(false, "MailGateway:Capture:Host", "localhost", "MailGateway:Capture", "MailGateway:Capture:Host must be a loopback IP address")]
    [InlineData(false, "MailGateway:Capture:MaxMessageBytes", "10", "MailGateway:Capture", "MaxMessageBytes")]
    [InlineData(true, "MailGateway:Inbound:Domains:0", "", "MailGateway:Inbound", "MailGateway:Inbound:Domains")]
    [InlineData(true, "MailGateway:Inbound:MaxRecipients", "0", "MailGateway:Inbound", "MaxRecipients")]
    public async Task A_bad_listener_setting_stops_the_host_naming_it(bool relayConfigured, string setting, string value, string section, string name)
    {
        var settings = GatewayHost.Settings(null, GatewayHost.NewDataDirectory());
        if (relayConfigured)
        {
            settings["MailGateway:Relay:Host"] = "127.0.0.1";
            settings["MailGateway:Inbound:Domains:0"] = "inbound.test";
            settings["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1";
        }

        settings[setting] = value;

        var messages = await StartFailureAsync(settings);

        Assert.All(messages, m => Assert.StartsWith($"Invalid configuration in {section}: ", m, StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains(name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AcceptAllRecipients_on_the_inbound_receiver_stops_the_host_unless_every_endpoint_is_loopback()
    {
        var settings = GatewayHost.Settings(null, GatewayHost.NewDataDirectory());
        settings["MailGateway:Relay:Host"] = "127.0.0.1";
        settings["MailGateway:Inbound:Domains:0"] = "inbound.test";
        settings["MailGateway:Inbound:AcceptAllRecipients"] = "true";

        var messages = await StartFailureAsync(settings);

        var message = Assert.Single(messages);
        Assert.Contains("MailGateway:Inbound:AcceptAllRecipients", message, StringComparison.Ordinal);
        Assert.Contains("MailGateway:Inbound:Endpoints:0:Address is '0.0.0.0'", message, StringComparison.Ordinal);
    }

    /// <summary>Starts a host that must fail validation; returns the distinct lines the host would print.</summary>
    private static async Task<List<string>> StartFailureAsync(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.AddStandaloneGateway();
        await using var app = builder.Build();
        app.MapStandaloneGateway();

        var error = await Record.ExceptionAsync(() => app.StartAsync());

        var failures = error switch
        {
            OptionsValidationException single => [single],
            AggregateException many when many.InnerExceptions.All(e => e is OptionsValidationException) => many.InnerExceptions.Cast<OptionsValidationException>().ToList(),
            _ => throw new Xunit.Sdk.XunitException($"Expected an options validation failure, got: {error?.ToString() ?? "none (the host started)"}"),
        };
        return [.. failures.Select(StandaloneHostExtensions.Describe).Distinct()];
    }
}
