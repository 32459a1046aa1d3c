using MailGateway.Core.Delivery;
using MailGateway.Embedded;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace MailGateway.Standalone;

/// <summary>Prints, once the API listens, where everything is and which key to use.</summary>
internal sealed class StartupBanner(
    IHostApplicationLifetime lifetime,
    IServer server,
    IServiceProvider services,
    StandaloneFlags flags,
    IOptions<EmbeddedStorageOptions> storage,
    IOptions<SmtpRelayOptions> relay,
    IOptions<CaptureOptions> capture) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Print);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Print()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var api = addresses.FirstOrDefault() ?? "(unknown)";
        var lines = new List<string>
        {
            "",
            "MailGateway standalone is running",
            $"  API:            {api}/api/v1/messages",
            $"  Reference page: {api}/scalar",
            $"  OpenAPI:        {api}/openapi/v1.json",
            $"  Data:           {Path.GetFullPath(storage.Value.DataDirectory)}",
        };
        if (flags.RelayConfigured)
        {
            lines.Add($"  Relay:          {relay.Value.Host} ports {string.Join(", ", relay.Value.EffectiveEndpoints)}");
        }
        else
        {
            lines.Add($"  Capture SMTP:   {capture.Value.Host}:{capture.Value.Port} (no relay configured; messages saved in {services.GetRequiredService<CapturePaths>().Directory})");
        }

        if (!flags.KeysConfigured)
        {
            var key = services.GetRequiredService<DevApiKey>();
            lines.Add($"  Dev API key:    {key.Key}");
            lines.Add($"                  (kept in {key.Path}; sender domains: {string.Join(", ", services.GetRequiredService<IOptions<StandaloneOptions>>().Value.DevSenderDomains)})");
        }

        lines.Add("");
        Console.Out.WriteLine(string.Join(Environment.NewLine, lines));
        Console.Out.Flush();
    }
}
