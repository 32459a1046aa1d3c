using System.Net;
using System.Net.Http.Headers;
using System.Text;
using MailGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Standalone.Tests;

/// <summary>The standalone host's own duties: capture, dev key, readiness, configuration errors.</summary>
public sealed class HostTests
{
    [Fact]
    public async Task Without_a_relay_messages_land_in_the_capture_folder_sent_with_the_generated_dev_key()
    {
        var capturePort = FreePort.Next();
        await using var host = await GatewayHost.StartAsync(null, s =>
        {
            foreach (var key in s.Keys.Where(k => k.StartsWith("MailGateway:Api:Keys", StringComparison.Ordinal)).ToList())
            {
                s.Remove(key);
            }

            s["MailGateway:Capture:Port"] = capturePort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        var devKey = (await File.ReadAllTextAsync(Path.Combine(host.DataDirectory, "dev-api-key.txt"))).Trim();
        host.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", devKey);

        var id = await host.SendAsync(GatewayHost.Message("Captured hello"));
        var status = await host.WaitForStatusAsync(id, "delivered");

        Assert.Equal(capturePort, status.GetProperty("attempts")[0].GetProperty("port").GetInt32());
        var captureRoot = Path.Combine(host.DataDirectory, "capture");
        var captured = Assert.Single(Directory.GetFiles(captureRoot, "*.eml", SearchOption.AllDirectories));
        Assert.Matches(@"^inbound/\d{4}/\d{2}/\d{2}/[0-9a-f]+\.eml$", Path.GetRelativePath(captureRoot, captured).Replace('\\', '/'));
        var text = await File.ReadAllTextAsync(captured);
        Assert.StartsWith("Received: from ", text, StringComparison.Ordinal);
        Assert.Matches(@"^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby \S+ with ESMTP id [0-9a-f]+", text);
        Assert.Contains("Subject: Captured hello", text, StringComparison.Ordinal);
        Assert.Contains("rcpt@example.net", await File.ReadAllTextAsync(Path.ChangeExtension(captured, ".json")), StringComparison.Ordinal);
        Assert.StartsWith("mgw_dev_", devKey, StringComparison.Ordinal);
        var banner = StandaloneListenerTests.Banner(host);
        Assert.Contains($"Capture SMTP:   127.0.0.1:{capturePort} (", banner, StringComparison.Ordinal);
        Assert.Contains($"messages saved under {Path.Combine(Path.GetFullPath(captureRoot), "inbound")}", banner, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Storage_failure_is_503_with_nothing_accepted_and_readiness_503()
    {
        await using var relay = await TestRelay.StartAsync();
        var data = GatewayHost.NewDataDirectory();
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(data, "messages"), "a file where the message folder should be");
        await using var host = await GatewayHost.StartAsync(relay, s =>
        {
            s["MailGateway:Storage:DataDirectory"] = data;
            s["MailGateway:Storage:ContentStore"] = "Files";
        });

        var (response, _) = await host.PostAsync(GatewayHost.Message());
        var ready = await host.Client.GetAsync("/readyz");

        var problem = await SendApiTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("nothing was accepted", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var readiness = await SendApiTests.AssertProblemAsync(ready, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("contentStore", readiness.GetProperty("errors")[0].GetProperty("field").GetString());
        Assert.Empty(relay.Messages);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("Sqlite", false)]
    [InlineData("Files", true)]
    public async Task Messages_are_delivered_with_either_content_store_and_only_Files_writes_message_files(string? contentStore, bool messageFolder)
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, s => s["MailGateway:Storage:ContentStore"] = contentStore);

        var id = await host.SendAsync();
        await host.WaitForStatusAsync(id, "delivered");

        var relayed = Assert.Single(await relay.WaitForMessagesAsync(1));
        Assert.Contains($"Message-ID: <{id}@example.com>", Encoding.ASCII.GetString(relayed.Data), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(messageFolder, Directory.Exists(Path.Combine(host.DataDirectory, "messages")));
    }

    [Theory]
    [InlineData("MailGateway:Storage:ContentStore", "7", "MailGateway:Storage", "ContentStore")]
    [InlineData("MailGateway:DeliveryWorker:Concurrency", "0", "MailGateway:DeliveryWorker", "Concurrency")]
    [InlineData("MailGateway:DeliveryWorker:LeaseDuration", "00:00:00", "MailGateway:DeliveryWorker", "LeaseDuration")]
    [InlineData("MailGateway:Worker:Concurrency", "64", "MailGateway:DeliveryWorker", "MailGateway:Worker:Concurrency was renamed to MailGateway:DeliveryWorker:Concurrency")]
    [InlineData("MailGateway:Storage:MaxDeliveryCount", "5", "MailGateway:DeliveryWorker", "MailGateway:DeliveryWorker:MaxDeliveryCount")]
    [InlineData("MailGateway:Storage:IdempotencyKeyRetention", "01:00:00", "MailGateway:Storage", "IdempotencyKeyRetention")]
    [InlineData("MailGateway:Relay:Endpoints:0:Port", "70000", "MailGateway:Relay", "Endpoints")]
    [InlineData("MailGateway:Api:Keys:0:Sha256", "abc", "MailGateway:Api", "Sha256")]
    public async Task A_bad_setting_stops_the_host_naming_it(string setting, string value, string section, string name)
    {
        var settings = GatewayHost.Settings(null, GatewayHost.NewDataDirectory());
        settings["MailGateway:Relay:Host"] = "127.0.0.1";
        settings[setting] = value;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.AddStandaloneGateway();
        await using var app = builder.Build();
        app.MapStandaloneGateway();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        var message = StandaloneHostExtensions.Describe(error);
        Assert.Contains(section, message, StringComparison.Ordinal);
        Assert.Contains(name, message, StringComparison.Ordinal);
    }
}
