using MailGateway.Core.Inbound;
using MailGateway.Core.Storage;

namespace MailGateway.Listener.Storage;

/// <summary>
/// Messages as files: <c>{root}/inbound/yyyy/MM/dd/{id}.eml</c> and <c>{id}.json</c>. Each is written to a temp
/// file in the same folder, made durable, renamed into place, and the renames are made durable, so a 250 survives a
/// crash. The .eml is renamed last: its presence means the message and its metadata are complete.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="FileSystemCommit.SyncFileSystem"/> (Linux, opt-in), a group commit: both temp files are written
/// without fsync; the commit waits for a <c>syncfs(2)</c> that started after its writes (shared by every commit that
/// got that far meanwhile), renames, and waits for a second shared <c>syncfs</c> that started after its renames. Under
/// load one <c>syncfs</c> covers the data of the messages that just finished DATA and the renames of the ones before.
/// </para>
/// <para>
/// <see cref="FileSystemCommit.SyncFiles"/> (the default): per message two data fsyncs (the .eml and .json temp files, issued
/// concurrently) and a share of one folder fsync, which concurrent commits to the same folder have in common
/// (<see cref="DirectoryGroupSync"/>).
/// </para>
/// <para>Folders are created once (each new one made durable in its parent) and remembered, not looked up per message.</para>
/// </remarks>
public sealed class FileSystemInboundMessageStore : IInboundMessageStore
{
    private readonly string _root;

    // The yyyy/MM/dd folders this store made or found (one a day), with their group syncs.
    private readonly DurableFolders _folders = new();

    // The group commit of the whole filesystem (SyncFileSystem mode), null in SyncFiles mode.
    private readonly DirectoryGroupSync? _fileSystemSync;

    /// <summary>Creates the store under a root folder, with the default commit (<see cref="FileSystemCommit.SyncFiles"/>).</summary>
    public FileSystemInboundMessageStore(string root)
        : this(root, new FileSystemStoreOptions().Commit)
    {
    }

    /// <summary>Creates the store under a root folder.</summary>
    public FileSystemInboundMessageStore(string root, FileSystemCommit commit)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = System.IO.Path.GetFullPath(root);
        if (commit == FileSystemCommit.SyncFileSystem)
        {
            if (!OperatingSystem.IsLinux())
            {
                throw new PlatformNotSupportedException("The SyncFileSystem commit (syncfs) exists on Linux only; use SyncFiles.");
            }

            var inbound = System.IO.Path.Combine(_root, "inbound");
            _fileSystemSync = new DirectoryGroupSync(() => DurableDirectory.SyncFileSystem(inbound));
        }

        Commit = commit;
    }

    /// <summary>How messages are made durable.</summary>
    public FileSystemCommit Commit { get; }

    /// <summary><c>syncfs</c> calls run so far (SyncFileSystem mode; for tests: commits share them).</summary>
    internal long FileSystemSyncCount => _fileSystemSync?.SyncCount ?? 0;

    /// <summary>The absolute root folder.</summary>
    public string Root => _root;

    /// <summary>Folder fsyncs run so far, all folders together (for tests: commits share them).</summary>
    internal long FolderSyncCount => _folders.SyncCount;

    /// <summary>Temp files removed by <see cref="InitializeAsync"/> (for tests and the log).</summary>
    public int RemovedTempFiles { get; private set; }

    /// <summary>
    /// Creates the folder and removes the temp files (<c>*.tmp</c>) a crash left under it: they belong to messages that
    /// never got a 250. Runs before the listener accepts anything; one listener per folder.
    /// </summary>
    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        var inbound = System.IO.Path.Combine(_root, "inbound");
        PrivateFiles.CreateDirectory(inbound);
        var removed = 0;
        foreach (var temp in Directory.EnumerateFiles(inbound, "*.tmp", SearchOption.AllDirectories))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                File.Delete(temp);
                removed++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left for the next start; a .tmp is never mistaken for a message.
            }
        }

        RemovedTempFiles = removed;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Directory.Exists(System.IO.Path.Combine(_root, "inbound")));

    /// <inheritdoc />
    public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        InboundStoragePaths.EnsureSafeId(id);
        var folder = System.IO.Path.Combine(_root, InboundStoragePaths.Folder(receivedAt));
        var emlPath = System.IO.Path.Combine(folder, id + ".eml");
        var stream = _folders.CreateIn(folder, () => OpenTemp(emlPath + ".tmp"));
        var syncer = _fileSystemSync ?? _folders.SyncOf(folder);
        return ValueTask.FromResult<IInboundMessageWriter>(
            new Writer(syncer, groupCommit: _fileSystemSync is not null, emlPath, System.IO.Path.Combine(folder, id + ".json"), stream));
    }

    // 600 and folders 700 (PrivateFiles): received mail is readable by the listener's user only.
    private static FileStream OpenTemp(string path) =>
        new(path, PrivateFiles.Create(FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous));

    private sealed class Writer : IInboundMessageWriter
    {
        // SyncFiles: the folder's group fsync; SyncFileSystem: the store's group syncfs.
        private readonly DirectoryGroupSync _sync;
        private readonly bool _groupCommit;
        private readonly string _emlPath;
        private readonly string _emlTemp;
        private readonly string _jsonPath;
        private readonly string _jsonTemp;
        private FileStream? _stream;
        private bool _committed;

        public Writer(DirectoryGroupSync sync, bool groupCommit, string emlPath, string jsonPath, FileStream stream)
        {
            _sync = sync;
            _groupCommit = groupCommit;
            _emlPath = emlPath;
            _jsonPath = jsonPath;
            _emlTemp = _emlPath + ".tmp";
            _jsonTemp = _jsonPath + ".tmp";
            _stream = stream;
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
            if (_groupCommit)
            {
                return await GroupCommitAsync(metadata);
            }

            // Both temp files must be durable before either rename: after a crash a visible .eml must have its
            // complete .json (and its own complete content), and nothing short of syncfs(2) makes two files' data
            // durable in one call (an fsync of one file does not write the other's delayed-allocation data on ext4).
            // So the two data fsyncs stay, but they no longer wait for each other: the .eml's runs on the pool while
            // the .json is written and fsynced here, and ext4 can cover both with one journal commit.
            var eml = _stream.SafeFileHandle;
            var emlSync = Task.Run(() => RandomAccess.FlushToDisk(eml), CancellationToken.None);
            try
            {
                var json = InboundMetadataJson.Serialize(metadata);
                using var file = new FileStream(_jsonTemp, PrivateFiles.Create(FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0));
                RandomAccess.Write(file.SafeFileHandle, json, 0);
                RandomAccess.FlushToDisk(file.SafeFileHandle);
            }
            finally
            {
                // The pool task must be done with the handle before Dispose can close it.
                await emlSync.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await emlSync;
            await _stream.DisposeAsync();
            _stream = null;

            File.Move(_jsonTemp, _jsonPath, overwrite: false);
            File.Move(_emlTemp, _emlPath, overwrite: false);
            _committed = true;

            // Group commit: returns once a folder fsync that started after these renames has completed; not cancelled,
            // as the old per-message folder fsync was not.
            await _sync.SyncAsync(CancellationToken.None);
            return _emlPath;
        }

        // Not cancelled once started: a commit either completes or fails on the store, as the fsync path does.
        private async Task<string> GroupCommitAsync(InboundMessageMetadata metadata)
        {
            await _stream!.DisposeAsync();
            _stream = null;
            var json = InboundMetadataJson.Serialize(metadata);
            using (var file = new FileStream(_jsonTemp, PrivateFiles.Create(FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0)))
            {
                RandomAccess.Write(file.SafeFileHandle, json, 0);
            }

            // Both temp files' data (and their folder entries) durable before either rename is visible.
            await _sync.SyncAsync(CancellationToken.None);
            File.Move(_jsonTemp, _jsonPath, overwrite: false);
            File.Move(_emlTemp, _emlPath, overwrite: false);
            _committed = true;

            // The renames durable (the .json's before the .eml's: ext4 commits its journal in order).
            await _sync.SyncAsync(CancellationToken.None);
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
}
