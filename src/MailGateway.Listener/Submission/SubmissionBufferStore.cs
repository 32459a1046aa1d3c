using System.Buffers;

namespace MailGateway.Listener.Submission;

/// <summary>
/// Where the DATA reader puts a submitted message: memory, bounded by the listener's MaxMessageSize (the reader stops
/// buffering once the message is too big). The message becomes durable only through the accept port, never here.
/// </summary>
internal sealed class SubmissionBufferStore : IInboundMessageStore
{
    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IInboundMessageWriter>(new Buffer());

    internal sealed class Buffer : IInboundMessageWriter
    {
        private ArrayBufferWriter<byte>? _data = new(64 * 1024);

        public ReadOnlyMemory<byte> Content => _data?.WrittenMemory ?? ReadOnlyMemory<byte>.Empty;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_data is null, this);
            _data.Write(data.Span);
            return ValueTask.CompletedTask;
        }

        public Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken) => Task.FromResult("memory");

        public void Dispose() => _data = null;
    }
}
