using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using MailGateway.Listener.Storage;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// One message on its way from the DATA parser into the store: counts its size, hashes it, finds its Message-ID,
/// and streams it to the store writer in bounded chunks. Once the message is known to be refused (too big, bare
/// CR/LF, a store error) the rest is read and dropped, so the session stays in step with the client.
/// </summary>
internal sealed class ReceivedMessage : IMessageOutput, IDisposable
{
    private const int FlushThreshold = 64 * 1024;
    private const int MaxHeaderScan = 256 * 1024;

    private readonly int _maxSize;
    private readonly ArrayBufferWriter<byte> _pending = new(FlushThreshold + 16 * 1024);
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly MessageIdScanner _messageId = new(MaxHeaderScan);
    private readonly byte[] _traceHeader;
    private IInboundMessageWriter? _writer;
    private long _contentSize;
    private long _written;
    private bool _rejected;

    public ReceivedMessage(string id, DateTimeOffset receivedAt, byte[] traceHeader, int maxSize)
    {
        Id = id;
        ReceivedAt = receivedAt;
        _traceHeader = traceHeader;
        _maxSize = maxSize;
    }

    public string Id { get; }

    public DateTimeOffset ReceivedAt { get; }

    public bool TooBig { get; private set; }

    public bool BareLineEnding { get; private set; }

    public Exception? StoreFailure { get; private set; }

    public string? MessageId => _messageId.Value;

    public long ContentSize => _contentSize;

    /// <summary>
    /// The reply for a message refused while it was read (too big, a bare CR or LF), logged and counted; null when it
    /// can be committed. Both roles (inbound and submission) refuse the same messages with the same replies.
    /// </summary>
    internal SmtpServer.Protocol.SmtpResponse? Refusal(ListenerContext shared, System.Net.IPAddress client)
    {
        var (reply, reason, metric) = TooBig ? (Replies.MessageTooBig, "too big", "too_big")
            : BareLineEnding ? (Replies.BareLineEnding, "bare CR or LF", "bare_line_ending")
            : (null, null, null);
        if (reply is not null)
        {
            Log.MessageRefused(shared.Logger, client, Id, reason!);
            shared.Metrics.Message(metric!);
        }

        return reply;
    }

    /// <summary>The store's writer (submission reads its buffer).</summary>
    internal IInboundMessageWriter? Writer => _writer;

    public async Task StartAsync(IInboundMessageStore store, CancellationToken cancellationToken)
    {
        try
        {
            _writer = await store.CreateWriterAsync(Id, ReceivedAt, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Fail(ex);
            return;
        }

        _pending.Write(_traceHeader);
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _contentSize += data.Length;
        if (_contentSize > _maxSize && !TooBig)
        {
            TooBig = true;
            Reject();
        }

        if (_rejected)
        {
            return;
        }

        _messageId.Feed(data);
        _pending.Write(data);
    }

    public void MarkBareLineEnding()
    {
        if (!BareLineEnding)
        {
            BareLineEnding = true;
            Reject();
        }
    }

    /// <summary>Hands buffered bytes to the store once enough gathered (or always with <paramref name="force"/>).</summary>
    public async ValueTask FlushAsync(bool force, CancellationToken cancellationToken)
    {
        if (_rejected || _pending.WrittenCount == 0 || (!force && _pending.WrittenCount < FlushThreshold))
        {
            return;
        }

        var chunk = _pending.WrittenMemory;
        _hash.AppendData(chunk.Span);
        try
        {
            await _writer!.WriteAsync(chunk, cancellationToken);
            _written += chunk.Length;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Fail(ex);
        }

        _pending.ResetWrittenCount();
    }

    /// <summary>Commits the message, or says why not. Throws only when the store throws during the commit.</summary>
    public async Task<(bool Stored, string? Location)> CommitAsync(Func<long, string, InboundMessageMetadata> metadata, CancellationToken cancellationToken)
    {
        if (_rejected || _writer is null)
        {
            return (false, null);
        }

        await FlushAsync(force: true, cancellationToken);
        if (StoreFailure is not null)
        {
            return (false, null);
        }

        var sha = Convert.ToHexStringLower(_hash.GetHashAndReset());
        var location = await _writer.CommitAsync(metadata(_written, sha), cancellationToken);
        return (true, location);
    }

    public void Dispose()
    {
        _writer?.Dispose();
        _writer = null;
        _hash.Dispose();
    }

    private void Fail(Exception ex)
    {
        StoreFailure ??= ex;
        Reject();
    }

    private void Reject()
    {
        _rejected = true;
        _pending.Clear();
    }

    /// <summary>Finds the (unfolded) Message-ID header in the header section, reading at most a bounded prefix.</summary>
    private sealed class MessageIdScanner(int limit)
    {
        private static readonly byte[] Name = "message-id:"u8.ToArray();
        private readonly List<byte> _line = [];
        private readonly StringBuilder _value = new();
        private bool _active = true;
        private bool _capturing;
        private bool _found;
        private int _seen;

        public string? Value => _found ? _value.ToString().Trim() : null;

        public void Feed(ReadOnlySpan<byte> data)
        {
            foreach (var b in data)
            {
                if (!_active)
                {
                    return;
                }

                if (++_seen > limit)
                {
                    _active = false;
                    return;
                }

                if (b == '\n')
                {
                    EndLine();
                }
                else if (_line.Count < 2048)
                {
                    _line.Add(b);
                }
            }
        }

        private void EndLine()
        {
            var line = _line.ToArray().AsSpan();
            _line.Clear();
            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }

            if (line.IsEmpty)
            {
                _active = false;
                return;
            }

            if (line[0] is (byte)' ' or (byte)'\t')
            {
                if (_capturing && _value.Length < 998)
                {
                    _value.Append(Encoding.ASCII.GetString(line));
                }

                return;
            }

            _capturing = false;
            if (!_found && line.Length >= Name.Length && Ascii.EqualsIgnoreCase(line[..Name.Length], Name))
            {
                _found = _capturing = true;
                _value.Append(Encoding.ASCII.GetString(line[Name.Length..]));
            }
        }
    }
}
