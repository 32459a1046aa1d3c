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
/// Both modes are a group commit (<see cref="GroupCommitter"/>): one leader renames every message that is ready and
/// makes the renames durable with one sync, and every waiting session gets its answer after it.
/// <see cref="FileSystemCommit.SyncFileSystem"/> (the default on Linux): both temp files are written without fsync
/// and one <c>syncfs(2)</c> a round covers the data of the messages that just finished DATA and the renames of the
/// previous round. <see cref="FileSystemCommit.SyncFiles"/> (the default elsewhere): each message fsyncs its two temp
/// files (concurrently) and a round shares one folder fsync.
/// </para>
/// <para>Folders are created once (each new one made durable in its parent) and remembered, not looked up per
/// message; a remembered folder removed meanwhile is made again.</para>
/// </remarks>
public sealed class FileSystemInboundMessageStore : IInboundMessageStore
{
    private readonly string _root;

    // The yyyy/MM/dd folders this store made or found (one a day).
    private readonly DurableFolders _folders = new();

    private readonly GroupCommitter _committer;

    /// <summary>Creates the store under a root folder, with the default commit (<see cref="FileSystemStoreOptions.DefaultCommit"/>).</summary>
    public FileSystemInboundMessageStore(string root)
        : this(root, FileSystemStoreOptions.DefaultCommit)
    {
    }

    /// <summary>Creates the store under a root folder.</summary>
    public FileSystemInboundMessageStore(string root, FileSystemCommit commit)
        : this(root, commit, sync: null)
    {
    }

    /// <summary>
    /// Creates the store; <paramref name="sync"/> (tests: a failing commit) replaces <c>syncfs</c> of the inbound folder
    /// (SyncFileSystem) or the fsync of a day folder (SyncFiles).
    /// </summary>
    internal FileSystemInboundMessageStore(string root, FileSystemCommit commit, Action<string>? sync)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = System.IO.Path.GetFullPath(root);
        Action? syncfs = null;
        if (commit == FileSystemCommit.SyncFileSystem)
        {
            if (!OperatingSystem.IsLinux())
            {
                throw new PlatformNotSupportedException("The SyncFileSystem commit (syncfs) exists on Linux only; use SyncFiles.");
            }

            var inbound = System.IO.Path.Combine(_root, "inbound");
            var syncOfInbound = sync ?? DurableDirectory.SyncFileSystem;
            syncfs = () => syncOfInbound(inbound);
        }

        _committer = new GroupCommitter(syncfs, sync ?? DurableDirectory.Sync);
        Commit = commit;
    }

    /// <summary>How messages are made durable.</summary>
    public FileSystemCommit Commit { get; }

    /// <summary><c>syncfs</c> calls run so far (SyncFileSystem mode; for tests: commits share them).</summary>
    internal long FileSystemSyncCount => Commit == FileSystemCommit.SyncFileSystem ? _committer.SyncCount : 0;

    /// <summary>Folder fsyncs of the group commit run so far (SyncFiles mode; for tests: commits share them).</summary>
    internal long FolderSyncCount => Commit == FileSystemCommit.SyncFiles ? _committer.SyncCount : 0;

    /// <summary>The group commit (for tests: its counters and its hook).</summary>
    internal GroupCommitter Committer => _committer;

    /// <summary>The absolute root folder.</summary>
    public string Root => _root;

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
        var pending = new PendingCommit(folder, emlPath, System.IO.Path.Combine(folder, id + ".json"));
        return ValueTask.FromResult<IInboundMessageWriter>(new Writer(_committer, syncData: Commit == FileSystemCommit.SyncFiles, pending, stream));
    }

    // 600 and folders 700 (PrivateFiles): received mail is readable by the listener's user only.
    private static FileStream OpenTemp(string path) =>
        new(path, PrivateFiles.Create(FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous));

    private sealed class Writer(GroupCommitter committer, bool syncData, PendingCommit pending, FileStream stream) : IInboundMessageWriter
    {
        private FileStream? _stream = stream;
        private bool _committed;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_stream is null, this);
            return _stream.WriteAsync(data, cancellationToken);
        }

        // Not cancelled once started: a commit either completes or fails on the store.
        public async Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_stream is null, this);
            await _stream.FlushAsync(cancellationToken);
            var json = InboundMetadataJson.Serialize(metadata);
            if (syncData)
            {
                // SyncFiles: both temp files durable before the leader renames them (nothing short of syncfs(2) makes
                // two files' data durable in one call). The .eml's fsync runs on the pool while the .json is written
                // and fsynced here, so ext4 can cover both with one journal commit.
                var eml = _stream.SafeFileHandle;
                var emlSync = Task.Run(() => RandomAccess.FlushToDisk(eml), CancellationToken.None);
                try
                {
                    WriteJson(json, sync: true);
                }
                finally
                {
                    // The pool task must be done with the handle before Dispose can close it.
                    await emlSync.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }

                await emlSync;
                await _stream.DisposeAsync();
                _stream = null;
            }
            else
            {
                // SyncFileSystem: the leader's syncfs makes both durable before it renames them.
                await _stream.DisposeAsync();
                _stream = null;
                WriteJson(json, sync: false);
            }

            await committer.CommitAsync(pending);
            _committed = true;
            return pending.EmlPath;
        }

        private void WriteJson(byte[] json, bool sync)
        {
            using var file = new FileStream(pending.JsonTemp, PrivateFiles.Create(FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0));
            RandomAccess.Write(file.SafeFileHandle, json, 0);
            if (sync)
            {
                RandomAccess.FlushToDisk(file.SafeFileHandle);
            }
        }

        public void Dispose()
        {
            _stream?.Dispose();
            _stream = null;
            if (!_committed)
            {
                GroupCommitter.TryDelete(pending.EmlTemp);
                GroupCommitter.TryDelete(pending.JsonTemp);
            }
        }
    }
}
