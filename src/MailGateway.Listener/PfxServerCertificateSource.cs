using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace MailGateway.Listener;

/// <summary>
/// The server certificate from a PFX file (<c>MailGateway:Inbound:Tls:CertificatePath</c>), or none. A Key Vault
/// certificate needs the Key Vault source of <c>MailGateway.AzureAdapters</c>, which the Container Apps host registers.
/// </summary>
public sealed class PfxServerCertificateSource(IOptions<InboundListenerOptions> options) : IServerCertificateSource
{
    /// <inheritdoc />
    public Task<X509Certificate2?> LoadAsync(CancellationToken cancellationToken)
    {
        var tls = options.Value.Tls;
        if (tls.KeyVaultUri is not null)
        {
            throw new InvalidOperationException(
                $"{InboundListenerOptions.SectionName}:Tls:KeyVaultUri is set, but this host loads certificates from PFX files only (Key Vault is in MailGateway.AzureAdapters, used by the MailGateway.Inbound host).");
        }

        return Task.FromResult(string.IsNullOrWhiteSpace(tls.CertificatePath)
            ? null
            : X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath, tls.CertificatePassword));
    }
}
