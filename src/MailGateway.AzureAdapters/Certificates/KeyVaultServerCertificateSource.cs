using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography.X509Certificates;
using Azure.Security.KeyVault.Certificates;
using MailGateway.Core.Inbound;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Certificates;

/// <summary>
/// Where the inbound listener's certificate is in Key Vault (keys of the section <c>MailGateway:Inbound:Tls</c>, which
/// the listener's own options validate too: one of a PFX file or Key Vault, and the name with the URI).
/// </summary>
public sealed class KeyVaultCertificateOptions
{
    /// <summary>The configuration section (shared with the listener's TLS settings).</summary>
    public const string SectionName = "MailGateway:Inbound:Tls";

    /// <summary>The vault, e.g. <c>https://kv-tls.vault.azure.net/</c>; the identity needs the Key Vault Certificate User role.</summary>
    [Required(ErrorMessage = "MailGateway:Inbound:Tls:KeyVaultUri is required for a Key Vault certificate.")]
    public Uri? KeyVaultUri { get; set; }

    /// <summary>The certificate's name in the vault.</summary>
    [Required(ErrorMessage = "MailGateway:Inbound:Tls:KeyVaultCertificateName is required with MailGateway:Inbound:Tls:KeyVaultUri.")]
    public string? KeyVaultCertificateName { get; set; }
}

/// <summary>The server certificate, with its private key, downloaded from Key Vault once when the listener starts.</summary>
public sealed class KeyVaultServerCertificateSource(CertificateClient client, IOptions<KeyVaultCertificateOptions> options) : IServerCertificateSource
{
    /// <inheritdoc />
    public async Task<X509Certificate2?> LoadAsync(CancellationToken cancellationToken)
    {
        // DownloadCertificate returns the certificate with its private key (the secret behind it).
        var response = await client.DownloadCertificateAsync(new DownloadCertificateOptions(options.Value.KeyVaultCertificateName!), cancellationToken);
        return response.Value;
    }
}
