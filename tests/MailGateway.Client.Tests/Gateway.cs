using MailGateway.Core.Keys;
using System.Globalization;
using MailGateway.Api;
using MailGateway.Standalone;
using MailGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailGateway.Client.Tests;

/// <summary>
/// The real standalone gateway (its own composition, <c>AddStandaloneGateway</c>) in this process on Kestrel at
/// 127.0.0.1:0, data in a temp folder, delivering to a <see cref="TestRelay"/> — or, with <c>capture</c>, to its own
/// capture listener, whose files the test reads.
/// </summary>
internal sealed class Gateway : IAsyncDisposable
{
    /// <summary>May send from example.com.</summary>
    public const string Key = "client-tests-key-0123456789";

    /// <summary>May send from other.example only.</summary>
    public const string OtherKey = "client-tests-other-0123456789";

    private readonly WebApplication _app;

    private Gateway(WebApplication app, TestRelay? relay, string dataDirectory, Uri baseAddress)
    {
        _app = app;
        Relay = relay;
        DataDirectory = dataDirectory;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string DataDirectory { get; }

    /// <summary>The relay the gateway delivers to (null in capture mode).</summary>
    public TestRelay? Relay { get; }

    /// <summary>Starts a gateway; the relay refuses every recipient that starts with <c>reject@</c> (5.7.1: a policy refusal, which does not put the address on the suppression list as a 5.1.1 would), so such a message fails and becomes a dead letter.</summary>
    public static async Task<Gateway> StartAsync(Action<Dictionary<string, string?>>? configure = null, bool capture = false)
    {
        var data = Path.Combine(Path.GetTempPath(), "mgw-client-" + Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["MailGateway:Storage:DataDirectory"] = data,
            ["MailGateway:Api:Keys:0:Id"] = "app",
            ["MailGateway:Api:Keys:0:Sha256"] = ApiKeyVerifier.HashKey(Key),
            ["MailGateway:Api:Keys:0:AllowedSenderDomains:0"] = "example.com",
            ["MailGateway:Api:Keys:1:Id"] = "other",
            ["MailGateway:Api:Keys:1:Sha256"] = ApiKeyVerifier.HashKey(OtherKey),
            ["MailGateway:Api:Keys:1:AllowedSenderDomains:0"] = "other.example",
            ["MailGateway:DeliveryWorker:IdlePollInterval"] = "00:00:00.200",
            ["MailGateway:Relay:ConnectRetries"] = "0",

            // SMTP submission is on by default: on ports the system picks, so parallel gateways never collide.
            ["MailGateway:Submission:Endpoints:0:Address"] = "127.0.0.1",
            ["MailGateway:Submission:Endpoints:0:Port"] = "0",
        };
        TestRelay? relay = null;
        if (capture)
        {
            settings["MailGateway:Capture:Port"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            relay = await TestRelay.StartAsync(new TestRelayOptions
            {
                Endpoints = [RelayEndpointKind.PlainOnly],
                RcptReply = to => to.StartsWith("reject@", StringComparison.Ordinal)
                    ? new SmtpServer.Protocol.SmtpResponse(SmtpServer.Protocol.SmtpReplyCode.MailboxUnavailable, "5.7.1 Refused by policy")
                    : null,
            });
            settings["MailGateway:Relay:Host"] = "127.0.0.1";
            settings["MailGateway:Relay:Endpoints:0:Port"] = relay.Port(RelayEndpointKind.PlainOnly).ToString(CultureInfo.InvariantCulture);
            settings["MailGateway:Relay:Endpoints:0:Tls"] = "StartTls";
            settings["MailGateway:Relay:TlsPolicy"] = "None";
        }

        configure?.Invoke(settings);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.AddStandaloneGateway();
        var app = builder.Build();
        app.MapStandaloneGateway();
        await app.StartAsync();
        return new Gateway(app, relay, data, Loopback.AddressOf(app));
    }

    /// <summary>A gateway whose file content store cannot write (a file stands where its folder should be): 503 on send, not ready.</summary>
    public static async Task<Gateway> StartWithBrokenStorageAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        var data = Path.Combine(Path.GetTempPath(), "mgw-client-broken-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(data, "messages"), "a file where the message folder should be");
        return await StartAsync(s =>
        {
            s["MailGateway:Storage:DataDirectory"] = data;
            s["MailGateway:Storage:ContentStore"] = "Files";
            configure?.Invoke(s);
        });
    }

    /// <summary>A client with the default retries, or as configured.</summary>
    public MailGatewayClient Client(string key = Key, Action<MailGatewayClientOptions>? configure = null, Uri? through = null)
    {
        var options = new MailGatewayClientOptions { BaseAddress = through ?? BaseAddress, ApiKey = key, RetryDelay = TimeSpan.FromMilliseconds(10) };
        configure?.Invoke(options);
        return new MailGatewayClient(options);
    }

    /// <summary>The messages the capture saved (capture mode).</summary>
    public IReadOnlyList<string> CapturedFiles() =>
        Directory.Exists(Path.Combine(DataDirectory, "capture"))
            ? Directory.GetFiles(Path.Combine(DataDirectory, "capture"), "*.eml", SearchOption.AllDirectories)
            : [];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (Relay is not null)
        {
            await Relay.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
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

/// <summary>Where a started app on 127.0.0.1:0 listens.</summary>
internal static class Loopback
{
    public static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
}

/// <summary>Polling with a deadline (the gateway delivers asynchronously).</summary>
internal static class Eventually
{
    public static async Task<MessageDetails> StatusAsync(MailGatewayClient client, string id, MessageStatus status, TimeSpan? deadline = null)
    {
        var until = DateTime.UtcNow + (deadline ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var details = await client.Messages.GetAsync(id);
            if (details.Status == status)
            {
                return details;
            }

            Assert.True(DateTime.UtcNow < until, $"message {id} is {details.Status}, not {status}, after the deadline");
            await Task.Delay(25);
        }
    }

    public static async Task<T> TrueAsync<T>(Func<T?> probe, string what, TimeSpan? deadline = null)
        where T : class
    {
        var until = DateTime.UtcNow + (deadline ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < until, $"{what}: not after the deadline");
            await Task.Delay(25);
        }
    }
}
