using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailGateway.Core.Inbound;
using MailGateway.Core.Storage;
using MailGateway.Embedded;
using MailGateway.Listener;
using MailGateway.Listener.Submission;
using Microsoft.Extensions.Options;

namespace MailGateway.Standalone;

/// <summary>
/// The TLS certificate of the standalone host's SMTP submission: the listener's PFX (<c>MailGateway:Inbound:Tls</c>)
/// when one is configured; otherwise, and only while every submission endpoint is on loopback, a development
/// certificate for localhost / 127.0.0.1 / ::1 generated once and kept in the data folder
/// (<c>dev-smtp-certificate.pfx</c>; its public part as <c>dev-smtp-certificate.pem</c>, both 600 like every file there, for
/// clients to trust: <c>swaks --tls-ca-path</c>, MailKit, <c>openssl s_client -CAfile</c>).
/// </summary>
internal sealed class DevSmtpCertificate(
    IConfiguration configuration,
    IOptions<EmbeddedStorageOptions> storage,
    IOptions<SubmissionListenerOptions> submission,
    TimeProvider time) : IServerCertificateSource
{
    public const string PfxFileName = "dev-smtp-certificate.pfx";
    public const string PemFileName = "dev-smtp-certificate.pem";

    private const string TlsSection = InboundListenerOptions.SectionName + ":Tls";

    /// <summary>The PEM file clients trust, or null when a configured certificate is used.</summary>
    public string? PemPath => Configured ? null : Path.Combine(Path.GetFullPath(storage.Value.DataDirectory), PemFileName);

    private bool Configured => !string.IsNullOrWhiteSpace(configuration[$"{TlsSection}:CertificatePath"]);

    public Task<X509Certificate2?> LoadAsync(CancellationToken cancellationToken)
    {
        if (Configured)
        {
            return Task.FromResult<X509Certificate2?>(
                X509CertificateLoader.LoadPkcs12FromFile(configuration[$"{TlsSection}:CertificatePath"]!, configuration[$"{TlsSection}:CertificatePassword"]));
        }

        if (!submission.Value.IsLoopbackOnly)
        {
            throw new InvalidOperationException(
                $"{SubmissionListenerOptions.SectionName}:Endpoints binds a non-loopback address: configure {TlsSection}:CertificatePath (a development certificate is generated for loopback only), or set {SubmissionListenerOptions.SectionName}:Enabled to false.");
        }

        return Task.FromResult<X509Certificate2?>(LoadOrCreate(Path.GetFullPath(storage.Value.DataDirectory)));
    }

    private X509Certificate2 LoadOrCreate(string dataDirectory)
    {
        var pfx = Path.Combine(dataDirectory, PfxFileName);
        var pem = Path.Combine(dataDirectory, PemFileName);
        var now = time.GetUtcNow();
        if (File.Exists(pfx) && File.Exists(pem))
        {
            try
            {
                var existing = X509CertificateLoader.LoadPkcs12FromFile(pfx, null);
                if (existing.HasPrivateKey && existing.NotAfter.ToUniversalTime() > now.UtcDateTime.AddDays(7))
                {
                    return existing;
                }

                existing.Dispose();
            }
            catch (CryptographicException)
            {
                // Damaged: made again below.
            }
        }

        PrivateFiles.CreateDirectory(dataDirectory);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost, O=MailGateway development", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var created = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        Write(pfx, created.Export(X509ContentType.Pfx));
        Write(pem, System.Text.Encoding.ASCII.GetBytes(created.ExportCertificatePem() + "\n"));
        return X509CertificateLoader.LoadPkcs12FromFile(pfx, null);
    }

    // 600 from creation, as every file in the data folder (PrivateFiles): the folder is 700, so a 644 certificate would
    // be readable by nobody else anyway; the gateway's user copies it for a client that runs as another user.
    private static void Write(string path, byte[] bytes)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, PrivateFiles.Create(FileMode.Create, FileAccess.Write, FileShare.None, 0, FileOptions.None)))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
