using System.Security.Cryptography.X509Certificates;

namespace MailGateway.Core.Inbound;

/// <summary>
/// Where the inbound listener's TLS server certificate comes from (a port): a PFX file (<c>MailGateway.Listener</c>) or
/// Key Vault (<c>MailGateway.AzureAdapters</c>). Loaded once, when the listener starts.
/// </summary>
public interface IServerCertificateSource
{
    /// <summary>The certificate with its private key, or null when none is configured (then STARTTLS is not offered).</summary>
    Task<X509Certificate2?> LoadAsync(CancellationToken cancellationToken);
}
