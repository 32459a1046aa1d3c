using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MailGateway.Core.Inbound;
using MailGateway.Core.Storage;

namespace MailGateway.Bench;

/// <summary>
/// A prototype, for measurement only (<c>inbound-accept.sh</c> with <c>GROUP_COMMIT=1</c>): the layout of the filesystem
/// store (<c>inbound/yyyy/MM/dd/{id}.eml</c> + <c>.json</c>, temp files renamed into place, .eml last) with group
/// commit instead of three fsyncs per message. A commit writes both temp files without fsync, waits for one
/// <c>syncfs(2)</c> shared by every commit that got that far (the files' data), renames, and waits for a second shared
/// <c>syncfs</c> (the renames). Folders are created once per day, not per message.
/// </summary>
internal sealed partial class GroupCommitStore(string root) : IInboundMessageStore
{
    private readonly string _root = Path.GetFullPath(root);
    private readonly ConcurrentDictionary<string, bool> _folders = new(StringComparer.Ordinal);
    private DirectoryGroupSync? _sync;

    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        var inbound = Path.Combine(_root, "inbound");
        Directory.CreateDirectory(inbound);
        _sync = new DirectoryGroupSync(() => SyncFileSystem(inbound)); // one syncfs covers every caller that asked before it started
        return Task.CompletedTask;
    }

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(Directory.Exists(Path.Combine(_root, "inbound")));

    public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(_root, "inbound", receivedAt.UtcDateTime.ToString("yyyy/MM/dd", CultureInfo.InvariantCulture));
        if (_folders.TryAdd(folder, true))
        {
            Directory.CreateDirectory(folder);
        }

        return ValueTask.FromResult<IInboundMessageWriter>(new Writer(folder, id, _sync!));
    }

    private sealed class Writer(string folder, string id, DirectoryGroupSync sync) : IInboundMessageWriter
    {
        private readonly string _eml = Path.Combine(folder, id + ".eml");
        private readonly string _json = Path.Combine(folder, id + ".json");
        private FileStream? _stream = new(Path.Combine(folder, id + ".eml.tmp"), new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            BufferSize = 64 * 1024,
            Options = FileOptions.Asynchronous,
        });

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => _stream!.WriteAsync(data, cancellationToken);

        public async Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
        {
            await _stream!.DisposeAsync();
            _stream = null;
            await File.WriteAllBytesAsync(_json + ".tmp", JsonSerializer.SerializeToUtf8Bytes(metadata), cancellationToken);
            await sync.SyncAsync(cancellationToken);
            File.Move(_json + ".tmp", _json);
            File.Move(_eml + ".tmp", _eml);
            await sync.SyncAsync(cancellationToken);
            return _eml;
        }

        public void Dispose() => _stream?.Dispose();
    }

    /// <summary>syncfs(2) of the filesystem holding <paramref name="path"/>: one call makes every file on it durable.</summary>
    private static void SyncFileSystem(string path)
    {
        var fd = Open(path, 0);
        if (fd < 0)
        {
            throw new IOException($"open for syncfs failed (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (SyncFs(fd) != 0)
            {
                throw new IOException($"syncfs failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
