using MailGateway.AzureAdapters;
using MailGateway.Listener;
using Microsoft.Extensions.Hosting;

namespace MailGateway.Inbound;

/// <summary>Composition of the Container Apps inbound host: the listener with the Blob store and a Key Vault certificate.</summary>
public static class InboundHostExtensions
{
    /// <summary>
    /// The listener on 25 and 587 (unless <c>MailGateway:Inbound:Endpoints</c> says otherwise); messages go to Blob
    /// storage (<c>MailGateway:AzureStorage</c>) unless <c>MailGateway:Inbound:Store</c> is <c>FileSystem</c>; the
    /// certificate comes from Key Vault when <c>MailGateway:Inbound:Tls:KeyVaultUri</c> is set, else from a PFX file.
    /// </summary>
    public static IHostApplicationBuilder AddInboundHost(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
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
