using MailGateway.Listener;
using MailGateway.Listener.Storage;
using MailGateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Listener.Tests;

/// <summary>A listener on 127.0.0.1:0 with a filesystem store in a temp folder (or a given store).</summary>
internal sealed class TestListener : IAsyncDisposable
{
    public const string Domain = "example.test";

    private readonly InboundListener _listener;

    private TestListener(InboundListener listener, InboundListenerOptions options, string root)
    {
        _listener = listener;
        Options = options;
        Root = root;
    }

    public InboundListenerOptions Options { get; }

    public string Root { get; }

    public InboundListener Listener => _listener;

    public int Port => _listener.LocalEndpoints[0].Port;

    public int PortAt(int index) => _listener.LocalEndpoints[index].Port;

    public static async Task<TestListener> StartAsync(
        Action<InboundListenerOptions>? configure = null, IInboundMessageStore? store = null, TimeProvider? timeProvider = null, bool tls = true)
    {
        var root = Path.Combine(Path.GetTempPath(), "mailgateway-inbound-" + Guid.NewGuid().ToString("N"));
        var options = new InboundListenerOptions
        {
            ServerName = "mx.example.test",
            Domains = [Domain],
            Endpoints = [new InboundEndpointOptions { Address = "127.0.0.1", Port = 0 }],
        };
        configure?.Invoke(options);
        store ??= new FileSystemInboundMessageStore(root);
        var listener = new InboundListener(options, store, tls ? TestCertificates.Shared.ServerCertificate : null, timeProvider ?? TimeProvider.System, NullLoggerFactory.Instance, new TestMeterFactory());
        await listener.StartAsync(CancellationToken.None);
        return new TestListener(listener, options, root);
    }

    /// <summary>The stored .eml files (complete messages only).</summary>
    public string[] StoredMessages() =>
        Directory.Exists(Root) ? Directory.GetFiles(Root, "*.eml", SearchOption.AllDirectories) : [];

    public byte[] SingleStoredMessage()
    {
        var files = StoredMessages();
        Assert.Single(files);
        return File.ReadAllBytes(files[0]);
    }

    /// <summary>The envelope recorded for the only stored message: <c>mailFrom</c> and <c>recipients</c> of its .json.</summary>
    public (string MailFrom, string[] Recipients) SingleStoredEnvelope()
    {
        var eml = Assert.Single(StoredMessages());
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.ChangeExtension(eml, ".json")));
        return (
            json.RootElement.GetProperty("mailFrom").GetString()!,
            [.. json.RootElement.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()!)]);
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
