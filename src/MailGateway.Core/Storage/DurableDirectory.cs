using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace MailGateway.Core.Storage;

/// <summary>
/// Directory durability for the file stores (outbound content, inbound mail): a rename or a new entry is durable
/// only once its directory is fsynced, and .NET has no API for that.
/// </summary>
public static partial class DurableDirectory
{
    /// <summary>fsync(2) of a directory (Linux and macOS; elsewhere a no-op).</summary>
    public static void Sync(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// syncfs(2) of the filesystem that holds <paramref name="path"/>: every file's data and metadata on it, written
    /// in one call (Linux only; since Linux 5.8 it reports a writeback error of any file on that filesystem).
    /// </summary>
    public static void SyncFileSystem(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("syncfs(2) exists on Linux only.");
        }

        var fd = Open(path, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"Cannot open {path} to sync its filesystem (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (SyncFs(fd) != 0)
            {
                throw new IOException($"syncfs of the filesystem of {path} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// Creates a directory and its missing parents (700, <see cref="PrivateFiles"/>), each new entry fsynced in its
    /// parent: a folder made just before a crash must not vanish with the files already acknowledged in it.
    /// </summary>
    public static void CreateDurably(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        var parent = Path.GetDirectoryName(directory);
        if (parent is not null)
        {
            CreateDurably(parent);
        }

        PrivateFiles.CreateDirectory(directory);
        if (parent is not null)
        {
            Sync(parent);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

/// <summary>
/// Group fsync of one directory. A caller takes a ticket after its renames and returns once a sync that started
/// after the ticket was taken has completed, so every rename before that sync is covered and concurrent commits
/// share one fsync instead of queueing one each.
/// </summary>
public sealed class DirectoryGroupSync(Action sync)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private long _requested;
    private long _completed;
    private long _syncCount;

    /// <summary>A group sync of <paramref name="directory"/> with <see cref="DurableDirectory.Sync"/>.</summary>
    public DirectoryGroupSync(string directory)
        : this(() => DurableDirectory.Sync(directory))
    {
    }

    /// <summary>Number of syncs actually run.</summary>
    public long SyncCount => Volatile.Read(ref _syncCount);

    /// <summary>Returns once a sync that started after this call has completed.</summary>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        var ticket = Interlocked.Increment(ref _requested);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A sync that started after our ticket (it read _requested >= ticket before syncing) covers us.
            if (Volatile.Read(ref _completed) >= ticket)
            {
                return;
            }

            var upTo = Volatile.Read(ref _requested);
            sync();
            Interlocked.Increment(ref _syncCount);
            Volatile.Write(ref _completed, upTo);
        }
        finally
        {
            _lock.Release();
        }
    }
}

/// <summary>
/// The folders a file store writes into (one a day for the message stores): each made durably once
/// (<see cref="DurableDirectory.CreateDurably"/>, remembered so a write costs no stat), each with its
/// <see cref="DirectoryGroupSync"/> so concurrent commits to one folder share one fsync.
/// </summary>
public sealed class DurableFolders
{
    private readonly ConcurrentDictionary<string, bool> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DirectoryGroupSync> _syncs = new(StringComparer.Ordinal);

    /// <summary>Folder fsyncs run so far, all folders together.</summary>
    public long SyncCount => _syncs.Values.Sum(s => s.SyncCount);

    /// <summary>Creates <paramref name="folder"/> (and missing parents) durably, unless this instance already did or saw it.</summary>
    public void Ensure(string folder)
    {
        if (_known.ContainsKey(folder))
        {
            return;
        }

        DurableDirectory.CreateDurably(folder);
        _known.TryAdd(folder, true);
    }

    /// <summary>
    /// Runs <paramref name="create"/> (which creates a file in <paramref name="folder"/>) after <see cref="Ensure"/>;
    /// when the remembered folder was removed meanwhile (an operator, a cleanup), makes it again and runs it once more.
    /// </summary>
    /// <remarks>
    /// A create that fails for a missing folder surfaces as <see cref="FileNotFoundException"/> as well as
    /// <see cref="DirectoryNotFoundException"/> (observed on .NET 10): the type depends on whether the folder exists when .NET looks after the
    /// failed open, and with concurrent writers another one may have made it again in between (bench/inbound-accept.sh
    /// got 451 from exactly that, the first sessions after it removed the day folder). Both mean "make it and retry".
    /// </remarks>
    public T CreateIn<T>(string folder, Func<T> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        Ensure(folder);
        try
        {
            return create();
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or FileNotFoundException)
        {
            _known.TryRemove(folder, out _);
            Ensure(folder);
            return create();
        }
    }

    /// <summary>The group sync of <paramref name="folder"/>.</summary>
    public DirectoryGroupSync SyncOf(string folder) => _syncs.GetOrAdd(folder, static f => new DirectoryGroupSync(f));
}
