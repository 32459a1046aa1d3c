using System.Buffers;
using System.IO.Pipelines;
using SmtpServer.Protocol;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// The only way SmtpServer reads from the client. Between commands it enforces the line-length limit (the library
/// itself buffers an endless line). When the library starts reading a DATA body, this reader does the reading
/// itself (<see cref="SessionConnection.ReceiveMessageAsync"/>: strict end-of-data, bare CR/LF, size, streaming to
/// the store) and then hands the library an empty dot block, so the library never parses message bytes and never
/// holds a message in memory.
/// </summary>
internal sealed class GuardedPipeReader : PipeReader
{
    private static readonly ReadOnlySequence<byte> EmptyDotBlock = new("\r\n.\r\n"u8.ToArray());

    private readonly SessionConnection _connection;
    private PipeReader _inner;
    private Mode _mode;
    private bool _skipToLineEnd;

    public GuardedPipeReader(SessionConnection connection, PipeReader inner)
    {
        _connection = connection;
        _inner = inner;
    }

    private enum Mode
    {
        Command,
        DataExpected,
        DataDelivered,
        Closed,
    }

    internal PipeReader Inner => _inner;

    /// <summary>The DATA command is executing: the next read is the message body.</summary>
    internal void ExpectData() => _mode = Mode.DataExpected;

    /// <summary>The connection is unusable (timeout, failure mid-DATA): report end of stream from now on.</summary>
    internal void MarkClosed() => _mode = Mode.Closed;

    /// <summary>Drops what the client sent in plain text after STARTTLS and switches to the TLS stream's reader.</summary>
    internal long Replace(PipeReader tlsReader)
    {
        long dropped = 0;
        if (_inner.TryRead(out var pending))
        {
            dropped = pending.Buffer.Length;
            _inner.AdvanceTo(pending.Buffer.End);
        }

        _inner.Complete();
        _inner = tlsReader;
        _skipToLineEnd = false;
        return dropped;
    }

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        switch (_mode)
        {
            case Mode.Closed:
                return new ReadResult(ReadOnlySequence<byte>.Empty, false, true);
            case Mode.DataDelivered:
                return new ReadResult(EmptyDotBlock, false, false);
            case Mode.DataExpected:
                await _connection.ReceiveMessageAsync(cancellationToken);
                _mode = Mode.DataDelivered;
                return new ReadResult(EmptyDotBlock, false, false);
        }

        while (true)
        {
            ReadResult result;
            try
            {
                result = await _connection.ReadWithTimeoutsAsync(_inner, cancellationToken);
            }
            catch (SessionTimeoutException)
            {
                _mode = Mode.Closed;
                return new ReadResult(ReadOnlySequence<byte>.Empty, false, true);
            }

            var buffer = result.Buffer;
            var lineEnd = buffer.PositionOf((byte)'\n');
            if (_skipToLineEnd)
            {
                // The tail of an over-long line: drop it up to and including its LF.
                if (lineEnd is { } end)
                {
                    _inner.AdvanceTo(buffer.GetPosition(1, end));
                    _skipToLineEnd = false;
                    continue;
                }

                _inner.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return new ReadResult(ReadOnlySequence<byte>.Empty, result.IsCanceled, result.IsCompleted);
                }

                continue;
            }

            var lineLength = lineEnd is { } p ? buffer.Slice(0, p).Length + 1 : buffer.Length;
            if (lineLength > _connection.Shared.Options.MaxCommandLineLength)
            {
                if (lineEnd is { } q)
                {
                    _inner.AdvanceTo(buffer.GetPosition(1, q));
                }
                else
                {
                    _inner.AdvanceTo(buffer.End);
                    _skipToLineEnd = !result.IsCompleted;
                }

                throw new SmtpResponseException(Replies.LineTooLong);
            }

            if (lineEnd is { } complete && CommandLineCheck.Check(buffer.Slice(0, complete)) is { } refusal)
            {
                _inner.AdvanceTo(buffer.GetPosition(1, complete));
                throw new SmtpResponseException(refusal);
            }

            return result;
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        switch (_mode)
        {
            case Mode.DataDelivered:
                // The library consumed our empty dot block; the body itself was consumed in ReceiveMessageAsync.
                _mode = Mode.Command;
                return;
            case Mode.Closed:
                return;
            default:
                _inner.AdvanceTo(consumed, examined);
                return;
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        if (_mode != Mode.Command)
        {
            result = default;
            return false;
        }

        return _inner.TryRead(out result);
    }

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);
}

/// <summary>A session ran out of time; the 421 reply was sent and the connection closed.</summary>
internal sealed class SessionTimeoutException : IOException
{
    public SessionTimeoutException()
        : base("The SMTP session timed out.")
    {
    }

    public SessionTimeoutException(string message)
        : base(message)
    {
    }

    public SessionTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
