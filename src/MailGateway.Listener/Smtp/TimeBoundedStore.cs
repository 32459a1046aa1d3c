using MailGateway.Core.Inbound;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Puts <see cref="InboundListenerOptions.StoreTimeout"/> on every call into a message store, whatever the store: a
/// Blob endpoint that accepts the connection and never answers (the SDK would retry for minutes), a disk that blocks
/// the calling thread. A call that overruns is abandoned (its token is cancelled, its result and writer disposed
/// when it ends) and fails with a <see cref="TimeoutException"/>, which the listener answers with 451 4.3.0.
/// </summary>
internal sealed class TimeBoundedStore(IInboundMessageStore inner, TimeSpan timeout, TimeProvider timeProvider) : IInboundMessageStore
{
    public async Task InitializeAsync(CancellationToken cancellationToken) =>
        await RunAsync(async ct =>
        {
            await inner.InitializeAsync(ct);
            return true;
        }, static _ => { }, cancellationToken);

    // The readiness probe has its own timeout (the health check's); it passes through unbounded here.
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => inner.IsReadyAsync(cancellationToken);

    public async ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        new Writer(this, await RunAsync(ct => inner.CreateWriterAsync(id, receivedAt, ct).AsTask(), static late => late.Dispose(), cancellationToken));

    /// <summary>
    /// Runs <paramref name="call"/> off the caller's thread (a store may block it) and waits at most the timeout, or
    /// until <paramref name="cancellationToken"/> ends the wait. <paramref name="discard"/> disposes a result that
    /// arrives after the caller stopped waiting.
    /// </summary>
    private async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, Action<T> discard, CancellationToken cancellationToken, Action<Task>? abandoned = null)
    {
        var deadline = new CancellationTokenSource(timeout, timeProvider);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var task = Task.Run(() => call(linked.Token), CancellationToken.None);
        try
        {
            return await task.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The message store did not answer within {timeout} (MailGateway:Inbound:StoreTimeout).");
        }
        finally
        {
            if (task.IsCompleted)
            {
                linked.Dispose();
                deadline.Dispose();
            }
            else
            {
                abandoned?.Invoke(task);
                _ = task.ContinueWith(
                    t =>
                    {
                        if (t.IsCompletedSuccessfully)
                        {
                            discard(t.Result);
                        }

                        // Observed, so an abandoned call's failure is not an unobserved task exception.
                        _ = t.Exception;
                        linked.Dispose();
                        deadline.Dispose();
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }

    private sealed class Writer(TimeBoundedStore store, IInboundMessageWriter inner) : IInboundMessageWriter
    {
        // A call the caller stopped waiting for: the writer is not used again, and disposed only once the call ended.
        private Task? _abandoned;
        private int _disposed;

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            ThrowIfAbandoned();
            await store.RunAsync(
                async ct =>
                {
                    await inner.WriteAsync(data, ct);
                    return true;
                },
                static _ => { },
                cancellationToken,
                task => _abandoned = task);
        }

        public Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
        {
            ThrowIfAbandoned();
            return store.RunAsync(ct => inner.CommitAsync(metadata, ct), static _ => { }, cancellationToken, task => _abandoned = task);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            if (_abandoned is { IsCompleted: false } running)
            {
                _ = running.ContinueWith(_ => inner.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            else
            {
                inner.Dispose();
            }
        }

        private void ThrowIfAbandoned()
        {
            if (_abandoned is not null)
            {
                throw new TimeoutException("An earlier call into the message store for this message did not end in time.");
            }
        }
    }
}
