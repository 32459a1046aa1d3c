using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Storage;

/// <summary>
/// The claim check in Blob storage. Blob names are generated here (<c>yyyy/MM/dd/&lt;guid&gt;.eml</c>), never built
/// from an id or an address, and a reference is checked against that shape before use, so no input can name a blob
/// outside the container. The SHA-256 of the content is stored as metadata and verified on every read.
/// </summary>
public sealed partial class BlobMessageContentStore : IMessageContentStore
{
    /// <summary>The metadata key holding the hex SHA-256 of the content.</summary>
    public const string HashMetadataKey = "sha256";

    private readonly BlobContainerClient _container;
    private readonly TimeProvider _time;
    private readonly AsyncOnce _created;

    /// <summary>Creates the store on the configured container.</summary>
    public BlobMessageContentStore(BlobServiceClient service, IOptions<AzureStorageOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        _container = service.GetBlobContainerClient(options.Value.ContentContainer);
        _time = time;
        var create = options.Value.CreateIfNotExists;
        _created = new AsyncOnce(ct => create ? _container.CreateIfNotExistsAsync(cancellationToken: ct) : Task.CompletedTask);
    }

    /// <inheritdoc />
    public async Task<string> SaveAsync(string messageId, ReadOnlyMemory<byte> mime, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        var name = _time.GetUtcNow().ToString("yyyy/MM/dd", CultureInfo.InvariantCulture) + "/" + Guid.NewGuid().ToString("N") + ".eml";
        var metadata = new Dictionary<string, string> { [HashMetadataKey] = Convert.ToHexStringLower(SHA256.HashData(mime.Span)) };
        if (SafeMetadataValue().IsMatch(messageId))
        {
            metadata["gatewayid"] = messageId;
        }

        await _container.GetBlobClient(name).UploadAsync(
            BinaryData.FromBytes(mime),
            new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "message/rfc822" },
                Metadata = metadata,
                // A generated name never exists; the condition makes an accidental overwrite impossible anyway.
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            },
            cancellationToken);
        return name;
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string reference, CancellationToken cancellationToken)
    {
        if (!IsReference(reference))
        {
            throw new MessageContentNotFoundException("Not a content reference of this store.");
        }

        BlobDownloadResult download;
        try
        {
            download = (await _container.GetBlobClient(reference).DownloadContentAsync(cancellationToken)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new MessageContentNotFoundException($"The content {reference} does not exist.", ex);
        }

        if (!download.Details.Metadata.TryGetValue(HashMetadataKey, out var expected))
        {
            throw new MessageContentNotFoundException($"The content {reference} has no hash: refusing to deliver unverified content.");
        }

        var actual = Convert.ToHexStringLower(SHA256.HashData(download.Content.ToMemory().Span));
        if (!string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
        {
            throw new MessageContentNotFoundException($"The content {reference} failed its integrity check (SHA-256 mismatch).");
        }

        return download.Content.ToStream();
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string reference, CancellationToken cancellationToken)
    {
        if (!IsReference(reference))
        {
            throw new ArgumentException("Not a content reference of this store.", nameof(reference));
        }

        await _container.GetBlobClient(reference).DeleteIfExistsAsync(cancellationToken: cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _created.EnsureAsync(cancellationToken);
            return (await _container.ExistsAsync(cancellationToken)).Value;
        }
        catch (RequestFailedException)
        {
            return false;
        }
        catch (Azure.Identity.AuthenticationFailedException)
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="reference"/> has the shape of a name this store generates.</summary>
    public static bool IsReference(string? reference) => reference is not null && ReferenceShape().IsMatch(reference);

    [GeneratedRegex(@"^\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.eml\z", RegexOptions.CultureInvariant)]
    private static partial Regex ReferenceShape();

    [GeneratedRegex(@"^[\x21-\x7E]{1,256}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeMetadataValue();
}
