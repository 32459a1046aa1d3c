using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using MailGateway.Core.Inbound;

namespace MailGateway.AzureAdapters.Storage;

/// <summary>
/// Messages as block blobs: <c>inbound/yyyy/MM/dd/{id}.eml</c> (content type message/rfc822, scalar metadata) and
/// <c>{id}.json</c> (all metadata, recipients included), the JSON first. A message is buffered up to
/// <see cref="AzureStorageOptions.InboundBlockSize"/>; a larger one is staged block by block while it arrives and committed
/// at the end, so memory stays at one block per session. Nothing is visible before the commit. Registered by
/// <see cref="AzureAdaptersHostingExtensions.AddAzureInboundMessageStore"/> on the gateway's storage account
/// (<c>MailGateway:AzureStorage</c>, container <see cref="AzureStorageOptions.InboundContainer"/>).
/// </summary>
public sealed class BlobInboundMessageStore : IInboundMessageStore
{
    private readonly BlobContainerClient _container;
    private readonly int _blockSize;
    private readonly bool _createContainer;

    /// <summary>Creates the store on a container.</summary>
    public BlobInboundMessageStore(BlobContainerClient container, int blockSize = 4 * 1024 * 1024, bool createContainer = true)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1024);
        _container = container;
        _blockSize = blockSize;
        _createContainer = createContainer;
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_createContainer)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
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

    /// <inheritdoc />
    public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        InboundStoragePaths.EnsureSafeId(id);
        var prefix = InboundStoragePaths.Folder(receivedAt) + "/" + id;
        return ValueTask.FromResult<IInboundMessageWriter>(new Writer(this, prefix));
    }

    private sealed class Writer(BlobInboundMessageStore store, string prefix) : IInboundMessageWriter
    {
        private readonly List<string> _blocks = [];
        private MemoryStream _buffer = new();

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            while (!data.IsEmpty)
            {
                var room = store._blockSize - (int)_buffer.Length;
                var take = Math.Min(room, data.Length);
                _buffer.Write(data.Span[..take]);
                data = data[take..];
                if (_buffer.Length == store._blockSize)
                {
                    await StageAsync(cancellationToken);
                }
            }
        }

        public async Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
        {
            var noOverwrite = new BlobRequestConditions { IfNoneMatch = ETag.All };
            var json = store._container.GetBlobClient(prefix + ".json");
            await json.UploadAsync(
                BinaryData.FromBytes(InboundMetadataJson.Serialize(metadata)),
                new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" }, Conditions = noOverwrite },
                cancellationToken);

            var name = prefix + ".eml";
            var eml = store._container.GetBlockBlobClient(name);
            var headers = new BlobHttpHeaders { ContentType = "message/rfc822" };
            var blobMetadata = ToBlobMetadata(metadata);
            if (_blocks.Count == 0)
            {
                _buffer.Position = 0;
                await eml.UploadAsync(_buffer, new BlobUploadOptions { HttpHeaders = headers, Metadata = blobMetadata, Conditions = noOverwrite }, cancellationToken);
            }
            else
            {
                if (_buffer.Length > 0)
                {
                    await StageAsync(cancellationToken);
                }

                await eml.CommitBlockListAsync(_blocks, new CommitBlockListOptions { HttpHeaders = headers, Metadata = blobMetadata, Conditions = noOverwrite }, cancellationToken);
            }

            return name;
        }

        public void Dispose()
        {
            // Uncommitted blocks are discarded by the service; nothing else to undo.
            _buffer.Dispose();
        }

        private async Task StageAsync(CancellationToken cancellationToken)
        {
            var blockId = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(_blocks.Count.ToString("d6", CultureInfo.InvariantCulture)));
            _buffer.Position = 0;
            await store._container.GetBlockBlobClient(prefix + ".eml").StageBlockAsync(blockId, _buffer, cancellationToken: cancellationToken);
            _blocks.Add(blockId);
            _buffer.Dispose();
            _buffer = new MemoryStream();
        }

        // Blob metadata values must be ASCII; addresses and ids are escaped. Recipients live in the JSON only.
        private static Dictionary<string, string> ToBlobMetadata(InboundMessageMetadata m)
        {
            var result = new Dictionary<string, string>
            {
                ["id"] = m.Id,
                ["receivedat"] = m.ReceivedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                ["mailfrom"] = Uri.EscapeDataString(m.MailFrom),
                ["recipientcount"] = m.Recipients.Count.ToString(CultureInfo.InvariantCulture),
                ["clientip"] = m.ClientIp,
                ["tls"] = m.Tls ? "true" : "false",
                ["size"] = m.Size.ToString(CultureInfo.InvariantCulture),
                ["sha256"] = m.Sha256,
            };
            if (m.MessageId is { Length: <= 998 } messageId)
            {
                result["messageid"] = Uri.EscapeDataString(messageId);
            }

            return result;
        }
    }
}
