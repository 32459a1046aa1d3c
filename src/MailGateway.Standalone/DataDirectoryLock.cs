using MailGateway.Core.Storage;
using MailGateway.Embedded;
using Microsoft.Extensions.Options;

namespace MailGateway.Standalone;

/// <summary>
/// An exclusive lock on <c>gateway.lock</c> in the data folder for the life of the process: the worker releases
/// every queue lease at start, which is only right when no other process uses the same data. The OS drops the lock
/// when the process dies, even on kill -9. Taking it makes the data folder owner-only (700).
/// </summary>
internal sealed class DataDirectoryLock(IOptions<EmbeddedStorageOptions> options) : IDisposable
{
    private FileStream? _lock;

    public void Acquire()
    {
        var directory = Path.GetFullPath(options.Value.DataDirectory);
        // The data folder holds every message: 700, also when an earlier version or the operator made it 755.
        PrivateFiles.CreateDirectory(directory);
        PrivateFiles.Restrict(directory);
        var path = Path.Combine(directory, "gateway.lock");
        try
        {
            _lock = new FileStream(path, PrivateFiles.Create(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex)
        {
            throw new DataDirectoryLockedException($"Another gateway is using the data folder {directory} ({path} is locked).", ex);
        }
    }

    public void Dispose() => _lock?.Dispose();
}

/// <summary>The data folder is in use by another process.</summary>
internal sealed class DataDirectoryLockedException(string message, Exception inner) : Exception(message, inner);
