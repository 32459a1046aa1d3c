using MailKit;
using MailKit.Net.Smtp;
using MimeKit;

namespace MailGateway.Core.Delivery;

/// <summary>
/// MailKit's client with the hooks the engine needs: every RCPT reply is recorded instead of aborting the
/// transaction on the first refusal, each reply re-arms the phase timer, and a <see cref="StoredMessage"/> is sent
/// as it is (no Prepare, no serialisation to measure its size).
/// </summary>
internal sealed class TrackingSmtpClient(FinalDotWatcher watcher) : SmtpClient(watcher)
{
    public FinalDotWatcher Watcher { get; } = watcher;

    public Dictionary<string, SmtpResponse> RecipientReplies { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Action? ReplyReceived { get; set; }

    public void BeginTransaction()
    {
        RecipientReplies.Clear();
        Watcher.Reset();
    }

    protected override void OnSenderAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        ReplyReceived?.Invoke();

    protected override void OnRecipientAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
    {
        RecipientReplies[mailbox.Address] = response;
        ReplyReceived?.Invoke();
    }

    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
    {
        RecipientReplies[mailbox.Address] = response;
        ReplyReceived?.Invoke();
    }

    protected override void OnNoRecipientsAccepted(MimeMessage message) => throw new NoRecipientsAcceptedException();

    // The stored message is already in its wire form: MimeKit must not re-encode it, and its size is known.
    protected override void Prepare(FormatOptions options, MimeMessage message, EncodingConstraint constraint, int maxLineLength)
    {
        if (message is not StoredMessage)
        {
            base.Prepare(options, message, constraint, maxLineLength);
        }
    }

    protected override long GetSize(FormatOptions options, MimeMessage message, CancellationToken cancellationToken) =>
        message is StoredMessage stored ? stored.Length : base.GetSize(options, message, cancellationToken);

    protected override Task<long> GetSizeAsync(FormatOptions options, MimeMessage message, CancellationToken cancellationToken) =>
        message is StoredMessage stored ? Task.FromResult(stored.Length) : base.GetSizeAsync(options, message, cancellationToken);
}

/// <summary>
/// Watches what the client writes (plaintext, before TLS) to know when the final <c>CRLF.CRLF</c> has been sent:
/// from then on a lost connection means the relay may have the message (<see cref="DeliveryOutcomeKind.Unknown"/>).
/// Dot-stuffing guarantees the sequence appears nowhere else in a DATA transaction, and CHUNKING is switched off.
/// </summary>
internal sealed class FinalDotWatcher : IProtocolLogger
{
    private static ReadOnlySpan<byte> Terminator => "\r\n.\r\n"u8;

    private readonly byte[] _tail = new byte[5];
    private int _tailLength;

    public bool FinalDotSent { get; private set; }

    public Action? FinalDotWritten { get; set; }

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    public void Reset()
    {
        FinalDotSent = false;
        _tailLength = 0;
    }

    public void LogClient(byte[] buffer, int offset, int count)
    {
        if (count <= 0)
        {
            return;
        }

        // Keep the last five bytes written across calls.
        var data = buffer.AsSpan(offset, count);
        if (data.Length >= _tail.Length)
        {
            data[^_tail.Length..].CopyTo(_tail);
            _tailLength = _tail.Length;
        }
        else
        {
            var keep = Math.Min(_tailLength, _tail.Length - data.Length);
            _tail.AsSpan(_tailLength - keep, keep).CopyTo(_tail);
            data.CopyTo(_tail.AsSpan(keep));
            _tailLength = keep + data.Length;
        }

        if (!FinalDotSent && _tailLength == _tail.Length && _tail.AsSpan().SequenceEqual(Terminator))
        {
            FinalDotSent = true;
            FinalDotWritten?.Invoke();
        }
    }

    public void LogConnect(Uri uri)
    {
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
    }

    public void Dispose()
    {
    }
}
