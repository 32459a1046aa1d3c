namespace MailGateway.Listener.Storage;

/// <summary>
/// Group fsync of one folder (the pattern of MailGateway.Embedded's DurableFile, copied: the listener does not
/// reference it). A caller takes a ticket after its renames; it returns once a sync that started after the ticket
/// was taken has completed, so every rename before that sync is covered and concurrent commits share one fsync
/// instead of queueing one each.
/// </summary>
internal sealed class DirectorySyncer
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Action _sync;
    private long _requested;
    private long _completed;

    public DirectorySyncer(Action sync) => _sync = sync;

    /// <summary>Number of syncs actually run (for tests).</summary>
    public long SyncCount => Volatile.Read(ref _syncCount);

    private long _syncCount;

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
            _sync();
            Interlocked.Increment(ref _syncCount);
            Volatile.Write(ref _completed, upTo);
        }
        finally
        {
            _lock.Release();
        }
    }
}
