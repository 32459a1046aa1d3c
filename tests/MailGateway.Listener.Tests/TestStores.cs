namespace MailGateway.Listener.Tests;

/// <summary>Keeps only counts: for uploads too big to write to disk in a test.</summary>
internal sealed class CountingStore : IInboundMessageStore
{
    private long _lastSize;
    private long _written;

    public long LastSize => Interlocked.Read(ref _lastSize);

    /// <summary>Bytes handed to the store so far, all messages together (how far the listener has read DATA).</summary>
    public long Written => Interlocked.Read(ref _written);

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IInboundMessageWriter>(new Writer(this));

    private sealed class Writer(CountingStore store) : IInboundMessageWriter
    {
        private long _size;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            _size += data.Length;
            Interlocked.Add(ref store._written, data.Length);
            return ValueTask.CompletedTask;
        }

        public Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
        {
            Interlocked.Exchange(ref store._lastSize, _size);
            return Task.FromResult("counted");
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>A store that fails at a chosen step, the way a real one does (I/O errors, service errors).</summary>
internal sealed class FailingStore(string failAt) : IInboundMessageStore
{
    public int Disposed;

    public string FailAt { get; } = failAt;

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        FailAt == "create"
            ? throw new IOException("disk gone")
            : ValueTask.FromResult<IInboundMessageWriter>(new Writer(this));

    private sealed class Writer(FailingStore store) : IInboundMessageWriter
    {
        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
            store.FailAt == "write" ? throw new IOException("write failed") : ValueTask.CompletedTask;

        public Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken) =>
            store.FailAt == "commit" ? throw new InvalidOperationException("commit failed") : Task.FromResult("ok");

        public void Dispose() => Interlocked.Increment(ref store.Disposed);
    }
}

/// <summary>
/// A store that never answers at a chosen step ("init", "create", "write", "commit"): asynchronously, ignoring
/// cancellation, or by blocking the calling thread (a hung disk). <see cref="Release"/> lets the hung calls end.
/// </summary>
internal sealed class HangingStore(string hangAt, bool blockThread) : IInboundMessageStore, IDisposable
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _releasedEvent = new();
    private int _hung;
    private int _disposedWriters;

    public int Hung => Volatile.Read(ref _hung);

    public string HangAt { get; } = hangAt;

    public int DisposedWriters => Volatile.Read(ref _disposedWriters);

    public Task InitializeAsync(CancellationToken cancellationToken) => HangAt == "init" ? HangAsync() : Task.CompletedTask;

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public async ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        if (HangAt == "create")
        {
            await HangAsync();
        }

        return new Writer(this);
    }

    public void Release()
    {
        _released.TrySetResult();
        _releasedEvent.Set();
    }

    public void Dispose()
    {
        Release();
        _releasedEvent.Dispose();
    }

    private Task HangAsync()
    {
        Interlocked.Increment(ref _hung);
        if (blockThread)
        {
            _releasedEvent.Wait(CancellationToken.None);
            return Task.CompletedTask;
        }

        return _released.Task;
    }

    private sealed class Writer(HangingStore store) : IInboundMessageWriter
    {
        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            if (store.HangAt == "write")
            {
                await store.HangAsync();
            }
        }

        public async Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
        {
            if (store.HangAt == "commit")
            {
                await store.HangAsync();
            }

            return "released";
        }

        public void Dispose() => Interlocked.Increment(ref store._disposedWriters);
    }
}
