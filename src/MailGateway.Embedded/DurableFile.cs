using MailGateway.Core.Storage;

namespace MailGateway.Embedded;

/// <summary>Write-then-rename with fsync of the file and of its directory, so a crash leaves the old or the new file, never half of one.</summary>
internal static class DurableFile
{
    public static async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path)!;
        EnsureDirectory(directory);
        var temp = Path.Combine(directory, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            // Synchronous on purpose: Linux has no asynchronous file I/O here anyway, and a small write plus fsync on
            // the calling thread costs less than handing both to the thread pool.
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                RandomAccess.Write(handle, content.Span, 0);
                RandomAccess.FlushToDisk(handle);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }

        await Syncers.GetOrAdd(directory, d => new DirectoryGroupSync(d)).SyncAsync(cancellationToken);
    }

    // Directories this process saw or made (one per day for the message store): saves a stat per write.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> KnownDirectories = new(StringComparer.Ordinal);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DirectoryGroupSync> Syncers = new(StringComparer.Ordinal);

    /// <summary>Creates a directory (and missing parents), making each new entry durable in its parent.</summary>
    public static void EnsureDirectory(string directory)
    {
        if (KnownDirectories.ContainsKey(directory))
        {
            return;
        }

        DurableDirectory.CreateDurably(directory);
        KnownDirectories.TryAdd(directory, true);
    }
}
