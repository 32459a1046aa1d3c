using MailGateway.Core.Inbound;
using MailGateway.Listener;
using MailGateway.Listener.Storage;
using MailGateway.Testing.Contracts;

namespace MailGateway.Listener.Tests.Storage;

/// <summary>The inbound store contract against the filesystem store (the syncfs group commit), each test in its own temp folder.</summary>
public class FileSystemInboundMessageStoreContractTests : InboundMessageStoreContract, IDisposable
{
    /// <summary>How the store under test commits.</summary>
    protected virtual FileSystemCommit Commit => FileSystemCommit.SyncFileSystem;

    private readonly List<string> _roots = [];

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        foreach (var root in _roots.Where(Directory.Exists))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    protected override IInboundMessageStore CreateStore()
    {
        var root = Path.Combine(Path.GetTempPath(), "mailgateway-inbound-contract-" + Guid.NewGuid().ToString("N"));
        _roots.Add(root);
        return new FileSystemInboundMessageStore(root, Commit);
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

/// <summary>The same contract with a data fsync per file and a shared folder fsync.</summary>
public sealed class FileSystemSyncFilesStoreContractTests : FileSystemInboundMessageStoreContractTests
{
    /// <inheritdoc />
    protected override FileSystemCommit Commit => FileSystemCommit.SyncFiles;
}
