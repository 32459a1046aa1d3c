using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MailGateway.Listener.Storage;

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
    private GroupSync? _sync;

    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.Combine(_root, "inbound"));
        _sync = new GroupSync(Path.Combine(_root, "inbound"));
        return Task.CompletedTask;
    }

    public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(_root, "inbound", receivedAt.UtcDateTime.ToString("yyyy/MM/dd", CultureInfo.InvariantCulture));
        if (_folders.TryAdd(folder, true))
        {
            Directory.CreateDirectory(folder);
        }

        return ValueTask.FromResult<IInboundMessageWriter>(new Writer(folder, id, _sync!));
    }

    private sealed class Writer(string folder, string id, GroupSync sync) : IInboundMessageWriter
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

    /// <summary>One syncfs covers every caller that asked before it started.</summary>
    private sealed partial class GroupSync(string path)
    {
        private readonly SemaphoreSlim _lock = new(1, 1);
        private long _requested;
        private long _completed;

        public async Task SyncAsync(CancellationToken cancellationToken)
        {
            var ticket = Interlocked.Increment(ref _requested);
            await _lock.WaitAsync(cancellationToken);
            try
            {
                if (Volatile.Read(ref _completed) >= ticket)
                {
                    return;
                }

                var upTo = Volatile.Read(ref _requested);
                var fd = Open(path, 0);
                if (fd < 0 || SyncFs(fd) != 0)
                {
                    throw new IOException($"syncfs failed (errno {Marshal.GetLastPInvokeError()}).");
                }

                _ = Close(fd);
                Volatile.Write(ref _completed, upTo);
            }
            finally
            {
                _lock.Release();
            }
        }

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        private static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
        private static partial int SyncFs(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        private static partial int Close(int fd);
    }
}
