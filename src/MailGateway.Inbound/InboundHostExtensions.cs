using MailGateway.AzureAdapters;
using MailGateway.Core;
using MailGateway.Core.Bounces;
using MailGateway.Listener;
using MailGateway.Listener.Submission;
using MailGateway.ServiceDefaults.Health;

namespace MailGateway.Inbound;

/// <summary>Composition of the Container Apps inbound host: the listener with the Blob store and a Key Vault certificate.</summary>
public static class InboundHostExtensions
{
    /// <summary>
    /// The listener on 25 (unless <c>MailGateway:Inbound:Endpoints</c> says otherwise); messages go to Blob
    /// storage (<c>MailGateway:AzureStorage</c>) unless <c>MailGateway:Inbound:Store</c> is <c>FileSystem</c>; the
    /// certificate comes from Key Vault when <c>MailGateway:Inbound:Tls:KeyVaultUri</c> is set, else from a PFX file.
    /// The host defaults add <c>/healthz</c> and <c>/readyz</c> (checks <c>listener</c> and <c>inboundStore</c>) on the
    /// HTTP port (<c>ASPNETCORE_HTTP_PORTS</c>, 8080 in the image) and telemetry. With
    /// <c>MailGateway:Submission:Enabled</c> true, SMTP submission on 587 and 465 (unless
    /// <c>MailGateway:Submission:Endpoints</c> says otherwise) with the same certificate, accepting through the claim-check
    /// port of the HTTP API (Blob content, Table status, Service Bus job: health checks <c>queue</c>, <c>statusStore</c>,
    /// <c>contentStore</c>); API keys from <c>MailGateway:Api:Keys</c>; DKIM keys (<c>MailGateway:Dkim</c>) from Key Vault
    /// or PEM files. With <c>MailGateway:Bounces:Domain</c> (and <c>Secret</c>, the delivery worker's), bounce processing:
    /// the listener accepts the bounce domain, stores each report in Blob, then applies DSNs and complaints to the Table
    /// status store and suppression list (<c>MailGateway:AzureStorage:TableServiceUri</c> becomes required); a report the
    /// Table service cannot take is answered 451 after it was stored.
    /// </summary>
    public static IHostApplicationBuilder AddInboundHost(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var health = builder.AddAzureServiceDefaults()
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

        builder.AddInboundListener(25);
        if (!string.IsNullOrWhiteSpace(builder.Configuration[$"{BounceOptions.SectionName}:{nameof(BounceOptions.Domain)}"]))
        {
            // Bounce processing as in the standalone host, on the Table status store and suppression list the API and
            // the delivery worker use: the bounce domain is accepted, every report stored in Blob first, then applied.
            builder.AddAzureBounceRecorder();
            builder.AddInboundBounceProcessing();
        }

        if (builder.Configuration.GetValue<bool>($"{SubmissionListenerOptions.SectionName}:{nameof(SubmissionListenerOptions.Enabled)}"))
        {
            health.AddMessagePortChecks();
            builder.AddAzureMessageStores();
            builder.AddServiceBusDeliveryQueue();
            builder.Services.AddClaimCheckAcceptor();
            // Submission signs at accept like the API: DKIM keys from Key Vault (or PEM files).
            builder.AddKeyVaultDkimKeys();
            builder.AddSubmissionListener();
        }

        return builder;
    }
}

/// <summary>Readiness of the listener itself, check <c>listener</c>: every SMTP endpoint is bound and accepting.</summary>
internal sealed class ListenerHealthCheck(InboundListenerService listener) : ProbeHealthCheck
{
    protected override Task<bool> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(listener.IsListening);
}
