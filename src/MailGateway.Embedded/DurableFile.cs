using System.Runtime.InteropServices;

namespace MailGateway.Embedded;

/// <summary>Write-then-rename with fsync of the file and of its directory, so a crash leaves the old or the new file, never half of one.</summary>
internal static partial class DurableFile
{
    public static async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path)!;
        EnsureDirectory(directory);
        var temp = Path.Combine(directory, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            await using (var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                PreallocationSize = content.Length,
            }))
            {
                await stream.WriteAsync(content, cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }

        await Syncers.GetOrAdd(directory, d => new DirectorySyncer(d)).SyncAsync(cancellationToken);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DirectorySyncer> Syncers = new(StringComparer.Ordinal);

    /// <summary>
    /// Group fsync of one directory: a caller whose rename happened before a sync started is covered by it, so many
    /// concurrent renames share one fsync instead of queueing one each.
    /// </summary>
    private sealed class DirectorySyncer(string directory)
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
                SyncDirectory(directory);
                Volatile.Write(ref _completed, upTo);
            }
            finally
            {
                _lock.Release();
            }
        }
    }

    /// <summary>Creates a directory (and missing parents), making each new entry durable in its parent.</summary>
    public static void EnsureDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        var parent = Path.GetDirectoryName(directory);
        if (parent is not null)
        {
            EnsureDirectory(parent);
        }

        Directory.CreateDirectory(directory);
        if (parent is not null)
        {
            SyncDirectory(parent);
        }
    }

    /// <summary>fsync(2) of a directory makes a rename or a new entry in it durable (Linux; elsewhere a no-op).</summary>
    public static void SyncDirectory(string directory)
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

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
