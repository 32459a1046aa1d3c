using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MailGateway.Core.Delivery;

/// <summary>
/// Certificate validation for the relay: always on. The system store decides, plus an optional extra CA bundle;
/// pins, when configured, replace CA trust with an exact-certificate match.
/// </summary>
internal sealed class RelayCertificateValidator
{
    private readonly X509Certificate2Collection _extraRoots = [];
    private readonly HashSet<string> _pins;
    private readonly bool _checkRevocation;

    public RelayCertificateValidator(SmtpRelayOptions options)
    {
        if (!string.IsNullOrEmpty(options.TrustedCaBundlePath))
        {
            _extraRoots.ImportFromPemFile(options.TrustedCaBundlePath);
        }

        _pins = options.PinnedCertificateSha256.Select(SmtpRelayOptions.NormalizeFingerprint).ToHashSet(StringComparer.Ordinal);
        _checkRevocation = options.CheckCertificateRevocation;
    }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }

        if (_pins.Count > 0)
        {
            return _pins.Contains(Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())));
        }

        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        // A wrong name or no certificate is never rescued by an extra CA.
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || _extraRoots.Count == 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_extraRoots);
        custom.ChainPolicy.RevocationMode = _checkRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements.Skip(1))
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(leaf);
    }
}
