using MailGateway.Core.Inbound;
using MailGateway.Listener.Storage;
using MailGateway.Testing.Contracts;

namespace MailGateway.Listener.Tests.Storage;

/// <summary>The inbound store contract against the filesystem store, each test in its own temp folder.</summary>
public sealed class FileSystemInboundMessageStoreContractTests : InboundMessageStoreContract, IDisposable
{
    private readonly List<string> _roots = [];

    public void Dispose()
    {
        foreach (var root in _roots.Where(Directory.Exists))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    protected override IInboundMessageStore CreateStore()
    {
        var root = Path.Combine(Path.GetTempPath(), "mailgateway-inbound-contract-" + Guid.NewGuid().ToString("N"));
        _roots.Add(root);
        return new FileSystemInboundMessageStore(root);
    }

    protected override Task<IReadOnlyList<string>> ListAsync(IInboundMessageStore store)
    {
        var root = ((FileSystemInboundMessageStore)store).Root;
        IReadOnlyList<string> names = Directory.Exists(root)
            ? [.. Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))]
            : [];
        return Task.FromResult(names);
    }

    protected override async Task<StoredInboundMessage?> ReadAsync(IInboundMessageStore store, string location) =>
        File.Exists(location)
            ? new StoredInboundMessage(await File.ReadAllBytesAsync(location), await File.ReadAllBytesAsync(Path.ChangeExtension(location, ".json")))
            : null;
}
