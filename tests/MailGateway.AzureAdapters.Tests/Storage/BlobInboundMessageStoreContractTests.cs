using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Inbound;
using MailGateway.Testing;
using MailGateway.Testing.Contracts;

namespace MailGateway.AzureAdapters.Tests.Storage;

/// <summary>The inbound store contract against the Blob store on Azurite, each test on its own container.</summary>
public sealed class BlobInboundMessageStoreContractTests : InboundMessageStoreContract, IAsyncLifetime
{
    // Small blocks, so the large-message case commits a block list instead of one upload.
    private const int BlockSize = 64 * 1024;

    private readonly Dictionary<IInboundMessageStore, BlobContainerClient> _containers = [];
    private BlobServiceClient _service = null!;

    public async Task InitializeAsync() => _service = new BlobServiceClient((await AzuriteServer.GetAsync()).ConnectionString);

    public Task DisposeAsync() => Task.WhenAll(_containers.Values.Select(c => c.DeleteIfExistsAsync()));

    protected override int LargeMessageSize => 5 * BlockSize + 123;

    protected override IInboundMessageStore CreateStore()
    {
        var container = _service.GetBlobContainerClient(AzuriteServer.UniqueName("inbound-contract-"));
        var store = new BlobInboundMessageStore(container, BlockSize, createContainer: true);
        _containers.Add(store, container);
        return store;
    }

    protected override async Task<IReadOnlyList<string>> ListAsync(IInboundMessageStore store)
    {
        var names = new List<string>();
        await foreach (var blob in _containers[store].GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        return names;
    }

    protected override async Task<StoredInboundMessage?> ReadAsync(IInboundMessageStore store, string location)
    {
        var container = _containers[store];
        var eml = container.GetBlobClient(location);
        if (!(await eml.ExistsAsync()).Value)
        {
            return null;
        }

        var json = container.GetBlobClient(Path.ChangeExtension(location, ".json"));
        return new StoredInboundMessage(
            (await eml.DownloadContentAsync()).Value.Content.ToArray(),
            (await json.DownloadContentAsync()).Value.Content.ToArray());
    }
}
