using MailGateway.Core.Delivery;
using MailGateway.Embedded;
using MailGateway.Listener;
using MailGateway.Core.Inbound;
using MailGateway.Listener.Storage;
using MailGateway.Listener.Submission;
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
    IOptions<SmtpRelayOptions> relay) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Print);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Print()
    {
        Console.Out.WriteLine(Describe());
        Console.Out.Flush();
    }

    /// <summary>The banner text (after the host started: the listener's endpoints are bound then).</summary>
    internal string Describe()
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
        if (services.GetRequiredService<IOptions<MailGateway.Dashboard.DashboardOptions>>().Value.Enabled)
        {
            var signIn = services.GetRequiredService<MailGateway.Dashboard.DashboardAccess>().SignInOptional
                ? "no sign-in from this machine: loopback development host"
                : "sign in with an API key that has the read or admin scope";
            lines.Insert(5, $"  Dashboard:      {api}/ui ({signIn})");
        }

        if (flags.RelayConfigured)
        {
            lines.Add($"  Relay:          {relay.Value.Host} ports {string.Join(", ", relay.Value.EffectiveEndpoints)}");
        }

        if (flags.Listener == StandaloneListener.Capture)
        {
            lines.Add($"  Capture SMTP:   {ListenerEndpoints()} (no relay configured; any recipient accepted; messages saved under {ListenerFolder()})");
        }
        else if (flags.Listener == StandaloneListener.Inbound)
        {
            var domains = string.Join(", ", services.GetRequiredService<IOptions<InboundListenerOptions>>().Value.Domains);
            lines.Add($"  Inbound SMTP:   {ListenerEndpoints()} for {domains} (messages saved under {ListenerFolder()})");
        }

        var submission = services.GetRequiredService<SubmissionListenerService>();
        if (submission.Enabled)
        {
            var options = services.GetRequiredService<IOptions<SubmissionListenerOptions>>().Value;
            var endpoints = submission.LocalEndpoints.Select((e, i) => $"{e} ({(i < options.Endpoints.Count && options.Endpoints[i].ImplicitTls ? "implicit TLS" : "STARTTLS")})");
            lines.Add($"  Submission SMTP: {string.Join(", ", endpoints)}; AUTH PLAIN/LOGIN over TLS, user = API key id, password = the key");
            if (services.GetRequiredService<DevSmtpCertificate>().PemPath is { } pem)
            {
                lines.Add($"                  (development TLS certificate for loopback; trust {pem})");
            }
        }

        if (!flags.KeysConfigured)
        {
            var key = services.GetRequiredService<DevApiKey>();
            lines.Add($"  Dev API key:    {key.Key}");
            lines.Add($"                  (kept in {key.Path}; sender domains: {string.Join(", ", services.GetRequiredService<IOptions<StandaloneOptions>>().Value.DevSenderDomains)})");
        }

        lines.Add("");
        return string.Join(Environment.NewLine, lines);
    }

    private string ListenerEndpoints() =>
        string.Join(", ", services.GetRequiredService<InboundListenerService>().LocalEndpoints.Select(e => e.ToString()));

    // The standalone host has only the filesystem store (the Blob store is in the Azure adapters).
    private string ListenerFolder() => services.GetRequiredService<IInboundMessageStore>() switch
    {
        FileSystemInboundMessageStore files => Path.Combine(files.Root, "inbound"),
        var other => other.GetType().Name,
    };
}
