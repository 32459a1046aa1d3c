using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MailGateway.Testing;

/// <summary>
/// Certificates generated in the test run (never committed): a private CA and a server certificate for
/// localhost / 127.0.0.1 signed by it, plus an unrelated self-signed certificate nobody trusts.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly Lazy<TestCertificates> SharedInstance = new(() => new TestCertificates());

    private TestCertificates()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=MailGateway Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        Authority = X509CertificateLoader.LoadCertificate(ca.Export(X509ContentType.Cert));

        ServerCertificate = CreateServer(ca, "localhost", now);
        UntrustedServerCertificate = CreateSelfSigned("localhost", now);
    }

    /// <summary>The certificates of this test process.</summary>
    public static TestCertificates Shared => SharedInstance.Value;

    /// <summary>The CA (public part only): what a client must trust explicitly.</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>A server certificate (with private key) for localhost and 127.0.0.1, signed by <see cref="Authority"/>.</summary>
    public X509Certificate2 ServerCertificate { get; }

    /// <summary>A self-signed server certificate for localhost that no client trusts.</summary>
    public X509Certificate2 UntrustedServerCertificate { get; }

    /// <summary>The CA in PEM form.</summary>
    public string AuthorityPem => Authority.ExportCertificatePem();

    /// <summary>Writes the CA as a PEM bundle to a temp file and returns its path.</summary>
    public string WriteAuthorityPemFile()
    {
        var path = Path.Combine(Path.GetTempPath(), "mailgateway-test-ca-" + Guid.NewGuid().ToString("N") + ".pem");
        File.WriteAllText(path, AuthorityPem);
        return path;
    }

    /// <summary>Writes the server certificate with its key as a PFX file (for hosts that load one) and returns its path.</summary>
    public string WriteServerPfxFile(string password)
    {
        var path = Path.Combine(Path.GetTempPath(), "mailgateway-test-server-" + Guid.NewGuid().ToString("N") + ".pfx");
        File.WriteAllBytes(path, ServerCertificate.Export(X509ContentType.Pfx, password));
        return path;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Authority.Dispose();
        ServerCertificate.Dispose();
        UntrustedServerCertificate.Dispose();
    }

    private static X509Certificate2 CreateServer(X509Certificate2 issuer, string dnsName, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var request = ServerRequest(key, dnsName);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var signed = request.Create(issuer, now.AddDays(-1), now.AddDays(29), serial);
        using var withKey = signed.CopyWithPrivateKey(key);
        // Round-trip through PKCS#12 so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null, X509KeyStorageFlags.Exportable);
    }

    private static X509Certificate2 CreateSelfSigned(string dnsName, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        using var cert = ServerRequest(key, dnsName).CreateSelfSigned(now.AddDays(-1), now.AddDays(29));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null, X509KeyStorageFlags.Exportable);
    }

    private static CertificateRequest ServerRequest(RSA key, string dnsName)
    {
        var request = new CertificateRequest("CN=" + dnsName, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request;
    }
}
