using System.Net;
using System.Text.Json;
using MailGateway.Inbound;
using MailGateway.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailGateway.Listener.Tests;

/// <summary>The Container Apps inbound host's probe endpoints (Program.cs composition, files instead of Blob).</summary>
public sealed class InboundHostHealthTests
{
    [Fact]
    public async Task The_inbound_host_answers_the_health_contract_over_HTTP()
    {
        var root = Path.Combine(Path.GetTempPath(), "mailgateway-inbound-health-" + Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ApplicationName = "MailGateway.Inbound" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailGateway:Inbound:Domains:0"] = "example.test",
            ["MailGateway:Inbound:Store"] = "FileSystem",
            ["MailGateway:Inbound:FileSystem:Path"] = root,
            ["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1",
            ["MailGateway:Inbound:Endpoints:0:Port"] = "0",
        });
        builder.AddInboundHost();
        await using var app = builder.Build();
        app.MapServiceDefaults();
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()) };

            using var live = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
            using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
            Directory.Delete(root, recursive: true);
            using var storeGone = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
            Assert.True(checks.GetProperty("listener").GetBoolean());
            Assert.True(checks.GetProperty("inboundStore").GetBoolean());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, storeGone.StatusCode);
            var problem = JsonDocument.Parse(await storeGone.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("inboundStore", Assert.Single(problem.GetProperty("errors").EnumerateArray()).GetProperty("field").GetString());
        }
        finally
        {
            await app.StopAsync();
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
