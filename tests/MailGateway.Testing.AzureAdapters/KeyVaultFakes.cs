using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography.X509Certificates;
using Azure;
using Azure.Core;
using Azure.Security.KeyVault.Certificates;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Azure;

namespace MailGateway.Testing.AzureAdapters;

/// <summary>
/// A Key Vault of secrets behind the SDK's own seams: <see cref="SecretClient"/>'s protected constructor and virtual
/// <see cref="SecretClient.GetSecretAsync(string, string, CancellationToken)"/>, values built with
/// <see cref="SecretModelFactory"/>. Versions are added like <c>az keyvault secret set</c> does (the latest answers a
/// read without a version); <see cref="Fail"/> makes the next reads fail as the service would (status and error code).
/// </summary>
public sealed class FakeSecretClient : SecretClient
{
    private readonly Dictionary<string, List<KeyVaultSecret>> _secrets = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();
    private Exception? _failure;
    private int _reads;

    /// <summary>A vault at <paramref name="vaultUri"/>.</summary>
    public FakeSecretClient(Uri vaultUri) => VaultUri = vaultUri;

    /// <inheritdoc />
    public override Uri VaultUri { get; }

    /// <summary>Reads answered or failed so far.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Stores a new version of <paramref name="name"/> (32 hex digits) and returns it.</summary>
    public KeyVaultSecret Set(string name, string value, IReadOnlyDictionary<string, string>? tags = null, bool enabled = true)
    {
        var version = Guid.NewGuid().ToString("N");
        var properties = SecretModelFactory.SecretProperties(
            id: new Uri(VaultUri, $"secrets/{name}/{version}"), vaultUri: VaultUri, name: name, version: version);
        properties.Enabled = enabled;
        properties.ContentType = "application/x-pem-file";
        foreach (var (key, tag) in tags ?? new Dictionary<string, string>())
        {
            properties.Tags[key] = tag;
        }

        var secret = SecretModelFactory.KeyVaultSecret(properties, value);
        lock (_lock)
        {
            if (!_secrets.TryGetValue(name, out var versions))
            {
                _secrets[name] = versions = [];
            }

            versions.Add(secret);
        }

        return secret;
    }

    /// <summary>From now on every read fails with <paramref name="failure"/> (null: reads answer again).</summary>
    public void Fail(Exception? failure)
    {
        lock (_lock)
        {
            _failure = failure;
        }
    }

    /// <summary>The service's answer to a read it refuses: a <see cref="RequestFailedException"/> with status and code.</summary>
    public static RequestFailedException Refusal(int status, string code) => new(status, $"Service request failed.\nStatus: {status}\nErrorCode: {code}", code, null);

    /// <inheritdoc />
    public override Task<Response<KeyVaultSecret>> GetSecretAsync(string name, string? version = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _reads);
        lock (_lock)
        {
            if (_failure is not null)
            {
                throw _failure;
            }

            var secret = _secrets.TryGetValue(name, out var versions)
                ? version is null ? versions.LastOrDefault() : versions.FirstOrDefault(v => v.Properties.Version == version)
                : null;
            return secret is null
                ? throw Refusal(404, "SecretNotFound")
                : Task.FromResult(Response.FromValue(secret, new FakeResponse(200)));
        }
    }

    /// <inheritdoc />
    public override Response<KeyVaultSecret> GetSecret(string name, string? version = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The gateway reads secrets asynchronously.");
}

/// <summary>A Key Vault holding certificates: <see cref="CertificateClient"/>'s virtual download, answering with a generated certificate.</summary>
public sealed class FakeCertificateClient(Uri vaultUri) : CertificateClient
{
    private readonly Dictionary<string, X509Certificate2> _certificates = new(StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override Uri VaultUri { get; } = vaultUri;

    /// <summary>What downloads asked for, in order.</summary>
    public List<DownloadCertificateOptions> Downloads { get; } = [];

    /// <summary>Imports <paramref name="certificate"/> (with its private key) as <paramref name="name"/>.</summary>
    public void Import(string name, X509Certificate2 certificate) => _certificates[name] = certificate;

    /// <inheritdoc />
    public override Task<Response<X509Certificate2>> DownloadCertificateAsync(DownloadCertificateOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Downloads.Add(options);
        return _certificates.TryGetValue(options.CertificateName, out var certificate)
            ? Task.FromResult(Response.FromValue(X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null, X509KeyStorageFlags.Exportable), new FakeResponse(200)))
            : throw FakeSecretClient.Refusal(404, "CertificateNotFound");
    }
}

/// <summary><c>Microsoft.Extensions.Azure</c>'s client factory over given clients, by name.</summary>
public sealed class FakeAzureClientFactory<TClient>(IReadOnlyDictionary<string, TClient> clients) : IAzureClientFactory<TClient>
{
    /// <inheritdoc />
    public TClient CreateClient(string name) =>
        clients.TryGetValue(name, out var client) ? client : throw new InvalidOperationException($"No client named '{name}'.");
}

/// <summary>A bare HTTP response for <see cref="Response.FromValue{T}(T, Response)"/>.</summary>
public sealed class FakeResponse(int status) : Response
{
    /// <inheritdoc />
    public override int Status { get; } = status;

    /// <inheritdoc />
    public override string ReasonPhrase => Status == 200 ? "OK" : "Error";

    /// <inheritdoc />
    public override Stream? ContentStream { get; set; }

    /// <inheritdoc />
    public override string ClientRequestId { get; set; } = Guid.NewGuid().ToString();

    /// <inheritdoc />
    public override void Dispose()
    {
    }

    /// <inheritdoc />
    protected override bool ContainsHeader(string name) => false;

    /// <inheritdoc />
    protected override IEnumerable<HttpHeader> EnumerateHeaders() => [];

    /// <inheritdoc />
    protected override bool TryGetHeader(string name, [NotNullWhen(true)] out string? value)
    {
        value = null;
        return false;
    }

    /// <inheritdoc />
    protected override bool TryGetHeaderValues(string name, [NotNullWhen(true)] out IEnumerable<string>? values)
    {
        values = null;
        return false;
    }
}
