using System.Buffers;
using System.IO.Pipelines;
using SmtpServer.IO;
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
    private DateTimeOffset? _lineStart;

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

        /// <summary>The library was handed a rewritten MAIL/RCPT line; its AdvanceTo consumes the client's line.</summary>
        Rewritten,
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
        _lineStart = null;
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
            // A command line's time counts from the first read for it (under stress the line as a whole is bounded).
            _lineStart ??= _connection.Shared.TimeProvider.GetUtcNow();
            ReadResult result;
            try
            {
                result = await _connection.ReadWithTimeoutsAsync(_inner, _lineStart.Value, 0, cancellationToken);
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
                    _lineStart = null;
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
                    _lineStart = null;
                }
                else
                {
                    _inner.AdvanceTo(buffer.End);
                    _skipToLineEnd = !result.IsCompleted;
                }

                throw new SmtpResponseException(Replies.LineTooLong);
            }

            if (lineEnd is { } complete)
            {
                _lineStart = null;
                var line = Inspect(buffer.Slice(0, complete), buffer.GetPosition(1, complete));
                if (line.Answer is { } answer)
                {
                    // Answered here, without the library: read the next line.
                    await _connection.Output.WriteReplyAsync(answer, cancellationToken);
                    continue;
                }

                return line.Replacement ?? result;
            }

            return result;
        }
    }

    /// <summary>
    /// Checks the complete line at the start of the buffer (<paramref name="next"/>: just after its LF). A refusal is
    /// thrown as <see cref="SmtpResponseException"/>, which the library answers and counts towards MaxErrors. A MAIL
    /// or RCPT line is never handed to the library as sent: it gets a replacement with our placeholder path.
    /// </summary>
    private LineDecision Inspect(ReadOnlySequence<byte> lineWithoutLf, SequencePosition next)
    {
        var line = lineWithoutLf.IsSingleSegment ? lineWithoutLf.FirstSpan : lineWithoutLf.ToArray();
        var crlf = line.Length > 0 && line[^1] == '\r';
        if (crlf)
        {
            line = line[..^1];
        }

        if (_connection.Shared.IsSubmission && !_connection.IsSecure && IsAuth(line))
        {
            // RFC 4954 section 4: credentials never travel in clear; answered here, so the library never reads them.
            _inner.AdvanceTo(next);
            return new LineDecision(null, Replies.EncryptionRequired);
        }

        var verb = EnvelopeCommand.VerbOf(line);
        var refusal = CommandLineCheck.Check(line, isPath: verb is not null);
        if (refusal is null && verb is null)
        {
            return default;
        }

        var session = _connection.Session;
        EnvelopeParse parse = default;
        if (refusal is null)
        {
            // A bare LF would let the library read this line and the next as one.
            parse = crlf ? EnvelopeCommand.Parse(verb!.Value, line, session.Utf8Transaction) : EnvelopeParse.Refused(CommandLineCheck.ControlCharacters);
            refusal = parse.Refusal;
        }

        _inner.AdvanceTo(next);
        if (refusal is not null)
        {
            throw new SmtpResponseException(refusal);
        }

        if (verb == EnvelopeVerb.Rcpt && session.RecipientCount >= _connection.Shared.Options.MaxRecipients)
        {
            // RFC 5321 4.5.3.1.10: the client may go on to DATA with the recipients it has. The library counts every
            // refusal it sees towards MaxErrors (and closes the session after five), so it never sees this one.
            return new LineDecision(null, Replies.TooManyRecipients);
        }

        // The client's line is consumed from the inner reader; the library's AdvanceTo on the replacement is ignored.
        session.PendingPath = parse.Path;
        _mode = Mode.Rewritten;
        return new LineDecision(new ReadResult(new ReadOnlySequence<byte>(parse.LibraryLine!), false, false), null);
    }

    private static bool IsAuth(ReadOnlySpan<byte> line) =>
        line.Length >= 4 && System.Text.Ascii.EqualsIgnoreCase(line[..4], "AUTH"u8) && (line.Length == 4 || line[4] is (byte)' ' or (byte)'\t');

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        switch (_mode)
        {
            case Mode.DataDelivered:
                // The library consumed our empty dot block; the body itself was consumed in ReceiveMessageAsync.
                _mode = Mode.Command;
                return;
            case Mode.Rewritten:
                // The library consumed the replacement line (the client's was consumed when it was replaced).
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

/// <summary>What the reader does with a complete command line: hand the library a replacement, answer it itself, or neither (pass it on).</summary>
internal readonly record struct LineDecision(ReadResult? Replacement, SmtpResponse? Answer);

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
