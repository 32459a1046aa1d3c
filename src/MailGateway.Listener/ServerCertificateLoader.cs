using System.Security.Cryptography.X509Certificates;
using Azure.Identity;
using Azure.Security.KeyVault.Certificates;

namespace MailGateway.Listener;

/// <summary>Loads the server certificate from a PFX file or from Key Vault (managed identity).</summary>
public static class ServerCertificateLoader
{
    /// <summary>The configured certificate, or null when none is configured (then STARTTLS is not offered).</summary>
    public static async Task<X509Certificate2?> LoadAsync(InboundTlsOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrWhiteSpace(options.CertificatePath))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath, options.CertificatePassword);
        }

        if (options.KeyVaultUri is not null)
        {
            // DownloadCertificate returns the certificate with its private key (needs secret get permission).
            var client = new CertificateClient(options.KeyVaultUri, new DefaultAzureCredential());
            var response = await client.DownloadCertificateAsync(new DownloadCertificateOptions(options.KeyVaultCertificateName!), cancellationToken);
            return response.Value;
        }

        return null;
    }
}
