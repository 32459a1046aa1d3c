using MailGateway.Listener.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.Listener.Tests;

/// <summary>The registration the Inbound and standalone hosts call.</summary>
public sealed class HostingTests
{
    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    [Fact]
    public async Task AddInboundListener_binds_the_configuration_section_and_serves_mail()
    {
        var root = Path.Combine(Path.GetTempPath(), "mailgateway-host-" + Guid.NewGuid().ToString("N"));
        var builder = Builder(new()
        {
            ["MailGateway:Inbound:ServerName"] = "mx.host.test",
            ["MailGateway:Inbound:Domains:0"] = "host.test",
            ["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1",
            ["MailGateway:Inbound:Endpoints:0:Port"] = "0",
            ["MailGateway:Inbound:MaxRecipients"] = "7",
            ["MailGateway:Inbound:Store"] = "FileSystem",
            ["MailGateway:Inbound:FileSystem:Path"] = root,
        });
        builder.AddInboundListener(2525);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var options = host.Services.GetRequiredService<IOptions<InboundListenerOptions>>().Value;
            Assert.Equal(7, options.MaxRecipients);
            Assert.IsType<FileSystemInboundMessageStore>(host.Services.GetRequiredService<IInboundMessageStore>());
            var port = host.Services.GetRequiredService<InboundListenerService>().LocalEndpoints.Single().Port;

            await using var client = await RawSmtpClient.ConnectAsync(port);
            Assert.Equal("220 mx.host.test ESMTP ready", (await client.ReadReplyAsync()).Text);
            await client.CommandAsync("EHLO client.test");
            await client.CommandAsync("MAIL FROM:<a@remote.test>");
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@host.test>")).Code);
            await client.CommandAsync("DATA");
            Assert.Equal(250, (await client.CommandAsync("Subject: hosted\r\n\r\n.")).Code);
            Assert.Single(Directory.GetFiles(root, "*.eml", SearchOption.AllDirectories));
        }
        finally
        {
            await host.StopAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task AddInboundListener_loads_the_certificate_from_a_PFX_file_for_STARTTLS()
    {
        var pfx = MailGateway.Testing.TestCertificates.Shared.WriteServerPfxFile("pfx-password");
        var root = Path.Combine(Path.GetTempPath(), "mailgateway-host-" + Guid.NewGuid().ToString("N"));
        var builder = Builder(new()
        {
            ["MailGateway:Inbound:Domains:0"] = "host.test",
            ["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1",
            ["MailGateway:Inbound:Endpoints:0:Port"] = "0",
            ["MailGateway:Inbound:Tls:CertificatePath"] = pfx,
            ["MailGateway:Inbound:Tls:CertificatePassword"] = "pfx-password",
            ["MailGateway:Inbound:FileSystem:Path"] = root,
        });
        builder.AddInboundListener();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var port = host.Services.GetRequiredService<InboundListenerService>().LocalEndpoints.Single().Port;
            using var client = await Clients.MailKitAsync(port, MailKit.Security.SecureSocketOptions.StartTls);
            Assert.True(client.IsSecure);
            await client.SendAsync(Clients.Message(to: "b@host.test"));
            Assert.Single(Directory.GetFiles(root, "*.eml", SearchOption.AllDirectories));
        }
        finally
        {
            await host.StopAsync();
            File.Delete(pfx);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void AddInboundListener_uses_the_host_default_ports_when_none_are_configured()
    {
        var builder = Builder(new() { ["MailGateway:Inbound:Domains:0"] = "host.test" });
        builder.AddInboundListener(25, 587);
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<InboundListenerOptions>>().Value;
        Assert.Equal([25, 587], options.Endpoints.Select(e => e.Port).ToArray());
    }

    [Theory]
    [InlineData("MailGateway:Inbound:Domains:0", "", "Domains")]
    [InlineData("MailGateway:Inbound:MaxMessageSize", "10", "MaxMessageSize")]
    [InlineData("MailGateway:Inbound:Endpoints:0:ImplicitTls", "true", "ImplicitTls")]
    [InlineData("MailGateway:Inbound:Users:0:PasswordHash", "plain-text-password", "Users:0")]
    [InlineData("MailGateway:Inbound:Store", "Blob", "Blob")]
    [InlineData("MailGateway:Inbound:StoreTimeout", "00:00:00", "StoreTimeout")]
    [InlineData("MailGateway:Inbound:StoreTimeout", "00:11:00", "StoreTimeout")]
    [InlineData("MailGateway:Inbound:StressCommandTimeout", "00:06:00", "StressCommandTimeout")]
    [InlineData("MailGateway:Inbound:StressThresholdPercent", "0", "StressThresholdPercent")]
    [InlineData("MailGateway:Inbound:MaxConnectionsPerIPv6Prefix", "0", "MaxConnectionsPerIPv6Prefix")]
    [InlineData("MailGateway:Inbound:AuthFailureDelay", "00:00:16", "AuthFailureDelay")]
    [InlineData("MailGateway:Inbound:MaxAuthFailuresPerClient", "0", "MaxAuthFailuresPerClient")]
    [InlineData("MailGateway:Inbound:AuthLockoutDuration", "00:00:00", "AuthLockoutDuration")]
    public async Task AddInboundListener_fails_at_start_naming_the_bad_setting(string key, string value, string named)
    {
        var settings = new Dictionary<string, string?>
        {
            ["MailGateway:Inbound:Domains:0"] = "host.test",
            ["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1",
            ["MailGateway:Inbound:Endpoints:0:Port"] = "0",
            ["MailGateway:Inbound:Users:0:UserName"] = "app",
            ["MailGateway:Inbound:Users:0:PasswordHash"] = PasswordHash.Create("pw", 1000),
        };
        settings[key] = value;
        var builder = Builder(settings);
        builder.AddInboundListener();
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MailGateway:Inbound:Store", "Blob", "Blob")]
    [InlineData("MailGateway:Bounces:Secret", "too-short", "Secret")]
    [InlineData("MailGateway:Bounces:Domain", "not a domain", "Domain")]
    public async Task AddInboundBounceProcessing_keeps_the_start_checks_and_adds_its_own(string key, string value, string named)
    {
        // The store wrapped for bounce processing is still known to be the file store (no Blob here).
        var settings = new Dictionary<string, string?>
        {
            ["MailGateway:Inbound:Domains:0"] = "host.test",
            ["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1",
            ["MailGateway:Inbound:Endpoints:0:Port"] = "0",
            ["MailGateway:Inbound:FileSystem:Path"] = Path.Combine(Path.GetTempPath(), "mailgateway-bounce-host-" + Guid.NewGuid().ToString("N")),
            ["MailGateway:Bounces:Domain"] = "bounces.host.test",
            ["MailGateway:Bounces:Secret"] = new string('s', 32),
        };
        settings[key] = value;
        var builder = Builder(settings);
        builder.AddInboundListener();
        builder.AddInboundBounceProcessing();
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
