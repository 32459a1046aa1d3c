namespace MailGateway.Listener.Tests;

/// <summary>Keeps only counts: for uploads too big to write to disk in a test.</summary>
internal sealed class CountingStore : IInboundMessageStore
{
    private long _lastSize;

    public long LastSize => Interlocked.Read(ref _lastSize);

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
