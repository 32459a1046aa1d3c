using System.Globalization;
using System.Text.Json;
using MailGateway.AzureAdapters;
using MailGateway.Listener;
using MailGateway.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MailGateway.Standalone.Tests;

/// <summary>The three hosts that run the inbound listener.</summary>
public enum ListenerRole
{
    /// <summary>The Container Apps host's registration (the listener and store of <c>AddInboundHost</c> in MailGateway.Inbound), files in a temp folder unless a test chooses Blob.</summary>
    Inbound,

    /// <summary>The standalone host with a relay and <c>MailGateway:Inbound:Domains</c>: the inbound receiver.</summary>
    Receiver,

    /// <summary>The standalone host without a relay: the capture (loopback, any recipient domain).</summary>
    Capture,
}

/// <summary>
/// One of the hosts that run the inbound listener, started in this process with the same <c>MailGateway:Inbound</c>
/// settings, on a loopback port, accepting mail for <see cref="Domain"/>.
/// </summary>
internal sealed class ListenerHost : IAsyncDisposable
{
    public const string Domain = "example.test";

    private readonly IHost? _inbound;
    private readonly GatewayHost? _gateway;
    private readonly TestRelay? _relay;

    private ListenerHost(IHost? inbound, GatewayHost? gateway, TestRelay? relay, string root, IServiceProvider services)
    {
        _inbound = inbound;
        _gateway = gateway;
        _relay = relay;
        Root = root;
        Services = services;
        Port = services.GetRequiredService<InboundListenerService>().LocalEndpoints[0].Port;
    }

    public int Port { get; }

    public IServiceProvider Services { get; }

    /// <summary>The folder the host's filesystem store writes <c>inbound/yyyy/MM/dd/</c> under.</summary>
    public string Root { get; }

    /// <summary>
    /// Starts the host in <paramref name="role"/>. <paramref name="inbound"/> holds <c>MailGateway:Inbound</c> settings
    /// (keys without the section); <c>Address</c> is the loopback address the listener binds (127.0.0.1 or ::1);
    /// <paramref name="services"/> registers test services first (a FakeTimeProvider, a store), before the host's own.
    /// </summary>
    public static async Task<ListenerHost> StartAsync(
        ListenerRole role, Dictionary<string, string>? inbound = null, Action<IServiceCollection>? services = null, string address = "127.0.0.1")
    {
        var settings = new Dictionary<string, string?> { ["MailGateway:Inbound:ServerName"] = "mx.example.test" };
        foreach (var (key, value) in inbound ?? [])
        {
            // "@Section:Key" is a setting outside MailGateway:Inbound (e.g. the Azure storage of the Inbound host).
            settings[key.StartsWith('@') ? key[1..] : InboundListenerOptions.SectionName + ":" + key] = value;
        }

        switch (role)
        {
            case ListenerRole.Inbound:
            {
                var root = Path.Combine(Path.GetTempPath(), "mgw-inbound-host-" + Guid.NewGuid().ToString("N"));
                settings["MailGateway:Inbound:Domains:0"] = Domain;
                settings["MailGateway:Inbound:Endpoints:0:Address"] = address;
                settings["MailGateway:Inbound:Endpoints:0:Port"] = "0";
                settings.TryAdd("MailGateway:Inbound:Store", "FileSystem");
                settings["MailGateway:Inbound:FileSystem:Path"] = root;
                var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
                builder.Configuration.AddInMemoryCollection(settings);
                services?.Invoke(builder.Services);
                // As MailGateway.Inbound's AddInboundHost (its health and telemetry aside): Blob through the Azure adapters.
                if (settings["MailGateway:Inbound:Store"] == "Blob")
                {
                    builder.AddAzureInboundMessageStore();
                }

                builder.AddInboundListener(25, 587);
                var host = builder.Build();
                await host.StartAsync();
                return new ListenerHost(host, null, null, root, host.Services);
            }

            case ListenerRole.Receiver:
            {
                var relay = await TestRelay.StartAsync();
                settings["MailGateway:Inbound:Domains:0"] = Domain;
                settings["MailGateway:Inbound:Endpoints:0:Address"] = address;
                settings["MailGateway:Inbound:Endpoints:0:Port"] = "0";
                var gateway = await GatewayHost.StartAsync(relay, s => Merge(s, settings), services);
                return new ListenerHost(null, gateway, relay, gateway.DataDirectory, gateway.Services);
            }

            default:
            {
                settings["MailGateway:Capture:Host"] = address;
                settings["MailGateway:Capture:Port"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
                var gateway = await GatewayHost.StartAsync(null, s => Merge(s, settings), services);
                return new ListenerHost(null, gateway, null, Path.Combine(gateway.DataDirectory, "capture"), gateway.Services);
            }
        }
    }

    /// <summary>The stored .eml files (complete messages only).</summary>
    public string[] StoredMessages()
    {
        var folder = Path.Combine(Root, "inbound");
        return Directory.Exists(folder) ? Directory.GetFiles(folder, "*.eml", SearchOption.AllDirectories) : [];
    }

    /// <summary>The envelope recorded for the only stored message: <c>mailFrom</c> and <c>recipients</c> of its .json.</summary>
    public (string MailFrom, string[] Recipients) SingleStoredEnvelope()
    {
        var eml = Assert.Single(StoredMessages());
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.ChangeExtension(eml, ".json")));
        return (
            json.RootElement.GetProperty("mailFrom").GetString()!,
            [.. json.RootElement.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()!)]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_inbound is not null)
        {
            await _inbound.StopAsync();
            _inbound.Dispose();
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }

        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }
    }

    private static void Merge(Dictionary<string, string?> target, Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in settings)
        {
            target[key] = value;
        }
    }
}
