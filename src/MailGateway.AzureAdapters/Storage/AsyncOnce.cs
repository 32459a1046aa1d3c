namespace MailGateway.AzureAdapters.Storage;

/// <summary>Runs an idempotent initialisation (create a container or table) once; a failure is retried by the next caller.</summary>
internal sealed class AsyncOnce(Func<CancellationToken, Task> initialise)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _done;

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_done)
            {
                await initialise(cancellationToken);
                _done = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
