namespace MailGateway.Core.Storage;

/// <summary>
/// Mail and the database are readable by the gateway's user only: the file stores create folders 700 and files 600
/// (Unix; elsewhere the folder's ACL applies). Set at creation, not after, so no other user can open a file in between.
/// </summary>
public static class PrivateFiles
{
    /// <summary><c>rwx------</c>.</summary>
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary><c>rw-------</c>.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="directory"/> (and missing parents) as 700; an existing one keeps its mode.</summary>
    public static void CreateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }

        // Directory.CreateDirectory(path, mode) gives the mode to the last folder only: make each missing one.
        var full = Path.GetFullPath(directory);
        if (Directory.Exists(full))
        {
            return;
        }

        if (Path.GetDirectoryName(full) is { } parent)
        {
            CreateDirectory(parent);
        }

        Directory.CreateDirectory(full, FolderMode);
    }

    /// <summary>Options to create a file as 600.</summary>
    public static FileStreamOptions Create(System.IO.FileMode mode, FileAccess access, FileShare share, int bufferSize = 4096, FileOptions options = FileOptions.None)
    {
        var create = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = bufferSize, Options = options };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = FileMode;
        }

        return create;
    }

    /// <summary>Makes an existing file or folder owner-only (600 or 700); a missing one is no error.</summary>
    public static void Restrict(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            var folder = Directory.Exists(path);
            if (folder || File.Exists(path))
            {
                File.SetUnixFileMode(path, folder ? FolderMode : FileMode);
            }
        }
        catch (FileNotFoundException)
        {
            // Removed meanwhile (SQLite deletes its -wal and -shm on a clean close).
        }
    }
}
