namespace MailGateway.Listener.Storage;

/// <summary>
/// The filesystem store's group commit: one leader thread takes every message that finished DATA since its last
/// round, renames their temp files into place and makes the renames durable with one sync, so concurrent sessions
/// share commits instead of queueing one each. Every waiting session gets its answer after that sync: 250 when it
/// succeeded, 451 (an exception) when it failed — then the message's files are removed, nothing is reported stored.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="FileSystemCommit.SyncFileSystem"/>: the temp files arrive unsynced. A round runs one <c>syncfs(2)</c>
/// that covers the data of the messages taken this round and the renames of the previous round's messages (whose
/// data the previous round's sync made durable before they were renamed), then answers the previous round and renames
/// this one's. So every message waits for two syncs — data, then renames — and each sync serves two batches.
/// </para>
/// <para>
/// <see cref="FileSystemCommit.SyncFiles"/>: the writer fsyncs its own two temp files (they are durable on arrival);
/// a round renames every message taken, fsyncs each folder once, and answers them.
/// </para>
/// <para>The leader runs on its own thread (started when work arrives, ended when none is left): the syncs block it,
/// never a thread-pool thread the sessions need.</para>
/// </remarks>
internal sealed class GroupCommitter
{
    private readonly object _gate = new();
    private readonly Action? _fileSystemSync;
    private readonly Action<string> _folderSync;
    private List<PendingCommit> _incoming = [];
    private bool _leaderRunning;
    private long _syncCount;
    private long _rounds;

    /// <param name="fileSystemSync">The <c>syncfs</c> of the store (SyncFileSystem mode), or null (SyncFiles mode).</param>
    /// <param name="folderSync">The fsync of one folder (SyncFiles mode).</param>
    public GroupCommitter(Action? fileSystemSync, Action<string> folderSync)
    {
        _fileSystemSync = fileSystemSync;
        _folderSync = folderSync;
    }

    /// <summary>Syncs run so far (syncfs calls, or folder fsyncs): concurrent commits share them.</summary>
    public long SyncCount => Interlocked.Read(ref _syncCount);

    /// <summary>Rounds of the leader that took at least one message.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Commits handed over and not yet taken by the leader (for tests).</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _incoming.Count;
            }
        }
    }

    /// <summary>Test hook: awaited by the leader before it takes a batch (holds it so commits queue up).</summary>
    public Func<Task>? BeforeRound { get; set; }

    /// <summary>Hands a message over; completes once it is durable (or fails, its files removed).</summary>
    public Task CommitAsync(PendingCommit commit)
    {
        bool start;
        lock (_gate)
        {
            _incoming.Add(commit);
            start = !_leaderRunning;
            _leaderRunning = true;
        }

        if (start)
        {
            new Thread(Lead) { IsBackground = true, Name = "inbound-group-commit" }.Start();
        }

        return commit.Done.Task;
    }

    private void Lead()
    {
        // SyncFileSystem: renamed in the previous round, durable with this round's sync.
        List<PendingCommit> renamed = [];
        while (true)
        {
            List<PendingCommit> fresh;
            try
            {
                BeforeRound?.Invoke().GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A test hook that fails changes nothing for the store.
            }

            lock (_gate)
            {
                fresh = _incoming;
                _incoming = [];
                if (fresh.Count == 0 && renamed.Count == 0)
                {
                    _leaderRunning = false;
                    return;
                }
            }

            if (fresh.Count > 0)
            {
                Interlocked.Increment(ref _rounds);
            }

            try
            {
                renamed = _fileSystemSync is { } syncfs ? FileSystemRound(syncfs, renamed, fresh) : FilesRound(fresh);
            }
            catch (Exception ex)
            {
                // Not expected (each step catches its own failures), but no session may wait forever.
                Fail(renamed, ex, renamedAlready: true);
                Fail(fresh, ex, renamedAlready: false);
                renamed = [];
            }
        }
    }

    private List<PendingCommit> FileSystemRound(Action syncfs, List<PendingCommit> renamed, List<PendingCommit> fresh)
    {
        try
        {
            syncfs();
            Interlocked.Increment(ref _syncCount);
        }
        catch (Exception ex)
        {
            Fail(renamed, ex, renamedAlready: true);
            Fail(fresh, ex, renamedAlready: false);
            return [];
        }

        foreach (var commit in renamed)
        {
            commit.Done.TrySetResult();
        }

        return RenameAll(fresh);
    }

    private List<PendingCommit> FilesRound(List<PendingCommit> fresh)
    {
        var renamed = RenameAll(fresh);
        foreach (var folder in renamed.GroupBy(c => c.Folder, StringComparer.Ordinal))
        {
            try
            {
                _folderSync(folder.Key);
                Interlocked.Increment(ref _syncCount);
            }
            catch (Exception ex)
            {
                Fail(folder, ex, renamedAlready: true);
                continue;
            }

            foreach (var commit in folder)
            {
                commit.Done.TrySetResult();
            }
        }

        return [];
    }

    // The .json first, then the .eml: a visible .eml always has its metadata. A message whose rename fails (its
    // folder or temp files removed meanwhile, a full or read-only disk) fails alone.
    private static List<PendingCommit> RenameAll(List<PendingCommit> fresh)
    {
        var renamed = new List<PendingCommit>(fresh.Count);
        foreach (var commit in fresh)
        {
            try
            {
                File.Move(commit.JsonTemp, commit.JsonPath, overwrite: false);
            }
            catch (Exception ex)
            {
                commit.Done.TrySetException(ex);
                continue;
            }

            try
            {
                File.Move(commit.EmlTemp, commit.EmlPath, overwrite: false);
            }
            catch (Exception ex)
            {
                TryDelete(commit.JsonPath);
                commit.Done.TrySetException(ex);
                continue;
            }

            renamed.Add(commit);
        }

        return renamed;
    }

    // The sync that would have made these durable failed: they get 451, and what a rename made visible is removed
    // (the .eml first), so no file claims a message the client was told to send again.
    private static void Fail(IEnumerable<PendingCommit> commits, Exception error, bool renamedAlready)
    {
        foreach (var commit in commits)
        {
            if (renamedAlready)
            {
                TryDelete(commit.EmlPath);
                TryDelete(commit.JsonPath);
            }

            commit.Done.TrySetException(new IOException("The group commit of the inbound store failed.", error));
        }
    }

    internal static void TryDelete(string path)
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

/// <summary>One message waiting for the group commit: its temp files are written (and closed).</summary>
internal sealed class PendingCommit(string folder, string emlPath, string jsonPath)
{
    public string Folder { get; } = folder;

    public string EmlPath { get; } = emlPath;

    public string EmlTemp { get; } = emlPath + ".tmp";

    public string JsonPath { get; } = jsonPath;

    public string JsonTemp { get; } = jsonPath + ".tmp";

    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
