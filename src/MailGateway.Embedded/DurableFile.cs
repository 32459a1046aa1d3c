using MailGateway.Core.Storage;

namespace MailGateway.Embedded;

/// <summary>Write-then-rename with fsync of the file and of its directory, so a crash leaves the old or the new file, never half of one.</summary>
internal static class DurableFile
{
    // The folders this process saw or made, with their group syncs (one per day for the message store).
    private static readonly DurableFolders Folders = new();

    public static async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(directory, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            // Synchronous on purpose: Linux has no asynchronous file I/O here anyway, and a small write plus fsync on
            // the calling thread costs less than handing both to the thread pool.
            // Created 600 (PrivateFiles): the message is readable by the gateway's user only.
            using (var file = Folders.CreateIn(directory, () => new FileStream(temp, PrivateFiles.Create(FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))))
            {
                RandomAccess.Write(file.SafeFileHandle, content.Span, 0);
                RandomAccess.FlushToDisk(file.SafeFileHandle);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }

        await Folders.SyncOf(directory).SyncAsync(cancellationToken);
    }

    /// <summary>Creates a directory (and missing parents), making each new entry durable in its parent.</summary>
    public static void EnsureDirectory(string directory) => Folders.Ensure(directory);
}
