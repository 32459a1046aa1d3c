using System.Runtime.InteropServices;

namespace MailGateway.Listener.Storage;

/// <summary>
/// Messages as files: <c>{root}/inbound/yyyy/MM/dd/{id}.eml</c> and <c>{id}.json</c>. Each is written to a temp
/// file in the same folder, fsynced, renamed into place, and the folder is fsynced, so a 250 survives a crash.
/// The .eml is renamed last: its presence means the message and its metadata are complete.
/// </summary>
public sealed partial class FileSystemInboundMessageStore : IInboundMessageStore
{
    private readonly string _root;

    /// <summary>Creates the store under a root folder.</summary>
    public FileSystemInboundMessageStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = System.IO.Path.GetFullPath(root);
    }

    /// <summary>The absolute root folder.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.Combine(_root, "inbound"));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        StoragePaths.EnsureSafeId(id);
        var folder = System.IO.Path.Combine(_root, StoragePaths.Folder(receivedAt));
        Directory.CreateDirectory(folder);
        return ValueTask.FromResult<IInboundMessageWriter>(new Writer(folder, id));
    }

    private sealed class Writer : IInboundMessageWriter
    {
        private readonly string _folder;
        private readonly string _emlPath;
        private readonly string _emlTemp;
        private readonly string _jsonPath;
        private readonly string _jsonTemp;
        private FileStream? _stream;
        private bool _committed;

        public Writer(string folder, string id)
        {
            _folder = folder;
            _emlPath = System.IO.Path.Combine(folder, id + ".eml");
            _jsonPath = System.IO.Path.Combine(folder, id + ".json");
            _emlTemp = _emlPath + ".tmp";
            _jsonTemp = _jsonPath + ".tmp";
            _stream = new FileStream(_emlTemp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 64 * 1024,
                Options = FileOptions.Asynchronous,
            });
        }

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_stream is null, this);
            return _stream.WriteAsync(data, cancellationToken);
        }

        public async Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_stream is null, this);
            await _stream.FlushAsync(cancellationToken);
            _stream.Flush(flushToDisk: true);
            await _stream.DisposeAsync();
            _stream = null;

            await using (var json = new FileStream(_jsonTemp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await json.WriteAsync(MetadataJson.Serialize(metadata), cancellationToken);
                json.Flush(flushToDisk: true);
            }

            File.Move(_jsonTemp, _jsonPath, overwrite: false);
            File.Move(_emlTemp, _emlPath, overwrite: false);
            _committed = true;
            FsyncDirectory(_folder);
            return _emlPath;
        }

        public void Dispose()
        {
            _stream?.Dispose();
            _stream = null;
            if (!_committed)
            {
                TryDelete(_emlTemp);
                TryDelete(_jsonTemp);
            }
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // Best effort: a leftover .tmp is never mistaken for a message.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    // A rename is durable only once the folder itself is flushed; .NET has no API for a directory fsync.
    private static void FsyncDirectory(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = NativeMethods.Open(folder, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"Cannot open folder for fsync (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (NativeMethods.Fsync(fd) != 0)
            {
                throw new IOException($"fsync of folder failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        internal static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);
    }
}
