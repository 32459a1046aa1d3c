using MailGateway.AzureAdapters;
using MailGateway.Listener;
using MailGateway.ServiceDefaults.Health;

namespace MailGateway.Inbound;

/// <summary>Composition of the Container Apps inbound host: the listener with the Blob store and a Key Vault certificate.</summary>
public static class InboundHostExtensions
{
    /// <summary>
    /// The listener on 25 and 587 (unless <c>MailGateway:Inbound:Endpoints</c> says otherwise); messages go to Blob
    /// storage (<c>MailGateway:AzureStorage</c>) unless <c>MailGateway:Inbound:Store</c> is <c>FileSystem</c>; the
    /// certificate comes from Key Vault when <c>MailGateway:Inbound:Tls:KeyVaultUri</c> is set, else from a PFX file.
    /// The host defaults add <c>/healthz</c> and <c>/readyz</c> (checks <c>listener</c> and <c>inboundStore</c>) on the
    /// HTTP port (<c>ASPNETCORE_HTTP_PORTS</c>, 8080 in the image) and telemetry.
    /// </summary>
    public static IHostApplicationBuilder AddInboundHost(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddAzureServiceDefaults()
            .AddInboundStoreCheck()
            .AddReadinessCheck<ListenerHealthCheck>("listener");
        var store = builder.Configuration[$"{InboundListenerOptions.SectionName}:{nameof(InboundListenerOptions.Store)}"];
        if (!string.Equals(store, nameof(InboundStoreKind.FileSystem), StringComparison.OrdinalIgnoreCase))
        {
            // Blob, the image's default; a value that is neither is reported by the options binder at start.
            builder.AddAzureInboundMessageStore();
        }

        if (!string.IsNullOrWhiteSpace(builder.Configuration[$"{InboundListenerOptions.SectionName}:Tls:KeyVaultUri"]))
        {
            builder.AddKeyVaultServerCertificate();
        }

        builder.AddInboundListener(25, 587);
        return builder;
    }
}

/// <summary>Readiness of the listener itself, check <c>listener</c>: every SMTP endpoint is bound and accepting.</summary>
internal sealed class ListenerHealthCheck(InboundListenerService listener) : ProbeHealthCheck
{
    protected override Task<bool> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(listener.IsListening);
}
