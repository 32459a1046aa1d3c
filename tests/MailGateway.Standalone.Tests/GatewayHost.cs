using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MailGateway.Api;
using MailGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailGateway.Standalone.Tests;

/// <summary>The standalone gateway in this process on a real Kestrel bound to 127.0.0.1:0, with its data in a temp folder.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    public const string AppKey = "test-key-app-0123456789";
    public const string OtherKey = "test-key-other-0123456789";

    private readonly WebApplication _app;
    private bool _stopped;

    private GatewayHost(WebApplication app, string dataDirectory, Uri baseAddress)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Client = new HttpClient { BaseAddress = baseAddress };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppKey);
    }

    public string DataDirectory { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "mgw-standalone-" + Guid.NewGuid().ToString("N"));

    /// <summary>Settings pointing the gateway at <paramref name="relay"/> (STARTTLS with the test CA) and two API keys.</summary>
    public static Dictionary<string, string?> Settings(TestRelay? relay, string dataDirectory, RelayEndpointKind kind = RelayEndpointKind.StartTls)
    {
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["MailGateway:Storage:DataDirectory"] = dataDirectory,
            ["MailGateway:Api:Keys:0:Id"] = "app",
            ["MailGateway:Api:Keys:0:Sha256"] = MailGateway.Core.Keys.ApiKeyVerifier.HashKey(AppKey),
            ["MailGateway:Api:Keys:0:AllowedSenderDomains:0"] = "example.com",
            ["MailGateway:Api:Keys:1:Id"] = "other",
            ["MailGateway:Api:Keys:1:Sha256"] = MailGateway.Core.Keys.ApiKeyVerifier.HashKey(OtherKey),
            ["MailGateway:Api:Keys:1:AllowedSenderDomains:0"] = "*.other.example",
            ["MailGateway:Delivery:JitterFraction"] = "0",
            ["MailGateway:DeliveryWorker:IdlePollInterval"] = "00:00:00.200",
            ["MailGateway:Relay:ConnectRetries"] = "0",
        };
        SubmissionOnFreePorts(settings);
        if (relay is not null)
        {
            settings["MailGateway:Relay:Host"] = "127.0.0.1";
            settings["MailGateway:Relay:Endpoints:0:Port"] = relay.Port(kind).ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings["MailGateway:Relay:Endpoints:0:Tls"] = kind == RelayEndpointKind.ImplicitTls ? "ImplicitTls" : "StartTls";
            settings["MailGateway:Relay:TrustedCaBundlePath"] = TestCertificates.Shared.WriteAuthorityPemFile();
            if (kind == RelayEndpointKind.PlainOnly)
            {
                settings["MailGateway:Relay:TlsPolicy"] = "None";
            }
        }

        return settings;
    }

    /// <summary>SMTP submission (on by default) on ports the system picks, so parallel hosts never collide on 2587/2465.</summary>
    public static Dictionary<string, string?> SubmissionOnFreePorts(Dictionary<string, string?> settings)
    {
        settings["MailGateway:Submission:Endpoints:0:Address"] = "127.0.0.1";
        settings["MailGateway:Submission:Endpoints:0:Port"] = "0";
        settings["MailGateway:Submission:Endpoints:1:Address"] = "127.0.0.1";
        settings["MailGateway:Submission:Endpoints:1:Port"] = "0";
        settings["MailGateway:Submission:Endpoints:1:ImplicitTls"] = "true";
        return settings;
    }

    public static async Task<GatewayHost> StartAsync(TestRelay? relay, Action<Dictionary<string, string?>>? configure = null, Action<IServiceCollection>? services = null, string? dataDirectory = null)
    {
        var data = dataDirectory ?? NewDataDirectory();
        var settings = Settings(relay, data);
        configure?.Invoke(settings);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        builder.AddStandaloneGateway();
        var app = builder.Build();
        app.MapStandaloneGateway();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new GatewayHost(app, data, new Uri(address));
    }

    public static object Message(string subject = "Hello", string to = "rcpt@example.net") => new
    {
        from = new { address = "app@example.com", name = "App" },
        to = new[] { to },
        subject,
        text = "Hello from the test",
    };

    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    public async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = Json(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        var response = await Client.SendAsync(request);
        return (response, await ReadAsync(response));
    }

    public async Task<string> SendAsync(object? body = null)
    {
        var (response, json) = await PostAsync(body ?? Message());
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        return json.GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> StatusAsync(string id)
    {
        var response = await Client.GetAsync($"/api/v1/messages/{id}");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await ReadAsync(response);
    }

    /// <summary>Polls the status API until the message reaches <paramref name="status"/>, or fails after the deadline.</summary>
    public Task<JsonElement> WaitForStatusAsync(string id, string status, TimeSpan? deadline = null, Action? eachPoll = null) =>
        Poll.UntilAsync(
            () => StatusAsync(id),
            body => body.GetProperty("status").GetString() == status,
            body => $"message {id} is {body.GetProperty("status")}, not {status}: {body}",
            deadline,
            eachPoll);

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Stops the gateway and keeps its data folder (for a restart on the same data).</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
