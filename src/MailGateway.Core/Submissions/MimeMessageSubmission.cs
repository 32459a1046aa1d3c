using System.Diagnostics;
using System.Runtime.InteropServices;
using MailGateway.Core.Dkim;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;

namespace MailGateway.Core.Submissions;

/// <summary>An already-formed MIME message (SMTP submission) with its envelope and the key it came with.</summary>
public sealed record MimeSubmissionRequest
{
    /// <summary>The verified key of the caller.</summary>
    public required VerifiedApiKey Sender { get; init; }

    /// <summary>MAIL FROM and the RCPT TO addresses, as the client sent them.</summary>
    public required Envelope Envelope { get; init; }

    /// <summary>The message as received (after dot-unstuffing), CRLF line endings.</summary>
    public required ReadOnlyMemory<byte> Content { get; init; }
}

/// <summary>
/// The accept entry for an already-formed MIME message, next to <see cref="MessageSubmission"/> (the JSON one) and
/// ending in the same <see cref="IMessageAcceptor"/>: the key's send scope and sender domains (MAIL FROM, and every
/// header From and Sender mailbox), the limits of <see cref="MessageLimitsOptions"/> (size, recipients, header
/// bytes), Bcc removed from the headers, a Message-ID (and Date) added when missing, DKIM-signed once like the API path.
/// </summary>
/// <remarks>
/// The wire guarantees of the composer hold for what is stored: a bare CR or LF, a header line over 998 octets and
/// 8-bit octets in the header section are refused (there is no safe rewrite of a header someone else wrote); a body
/// with 8-bit octets or lines over 998 octets is normalised — MimeKit re-encodes the parts concerned
/// (quoted-printable or base64, <c>Prepare(SevenBit, 998)</c>), everything else is kept as it was sent.
/// </remarks>
public sealed partial class MimeMessageSubmission(
    MessageValidator validator,
    IOptions<MessageLimitsOptions> limits,
    DkimMessageSigner signer,
    IMessageAcceptor acceptor,
    TimeProvider time,
    ILogger<MimeMessageSubmission> logger)
{
    /// <summary>The code of a refusal for a missing scope.</summary>
    public const string MissingScope = "missing_scope";

    /// <summary>The code of a refusal for a sender domain the key may not use.</summary>
    public const string SenderNotAllowed = "sender_not_allowed";

    private readonly MessageLimitsOptions _limits = limits.Value;

    /// <summary>
    /// Checks, normalises, signs and accepts <paramref name="request"/>. Pass <see cref="CancellationToken.None"/>
    /// where a client that goes away must not cut an accept in half.
    /// </summary>
    public async Task<SubmissionResult> SubmitAsync(MimeSubmissionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (submission, refused) = Prepare(request, cancellationToken);
        if (submission is null)
        {
            return refused!;
        }

        var accepted = await acceptor.AcceptAsync(submission, cancellationToken);
        switch (accepted.Outcome)
        {
            case AcceptOutcome.Accepted or AcceptOutcome.Replayed:
                LogAccepted(accepted.MessageId, request.Sender.Id, submission.Content.Length);
                return new SubmissionResult(SubmissionOutcome.Accepted, accepted.MessageId, accepted.Scheduled);
            default:
                LogStoreUnavailable(accepted.Error, accepted.Reason);
                return new SubmissionResult(SubmissionOutcome.Unavailable, Reason: accepted.Reason ?? AcceptResult.NothingAccepted);
        }
    }

    private (Submission? Submission, SubmissionResult? Refused) Prepare(MimeSubmissionRequest request, CancellationToken cancellationToken)
    {
        var key = request.Sender;
        if (!key.Has(ApiKeyScopes.Send))
        {
            return Refuse(SubmissionOutcome.SenderNotAllowed, "", MissingScope, "This API key does not have the send scope.");
        }

        // Linear checks first: nothing that costs more than one pass runs on an oversized or malformed message.
        if (validator.CheckComposedSize(request.Content.Length) is { } tooLarge)
        {
            return (null, new SubmissionResult(SubmissionOutcome.TooLarge, Errors: [tooLarge]));
        }

        var envelope = request.Envelope;
        if (AddressSyntax.Check(envelope.MailFrom) is not null || !key.MaySendFrom(envelope.MailFrom))
        {
            LogSenderRefused(key.Id, "MAIL FROM");
            return Refuse(SubmissionOutcome.SenderNotAllowed, "mailFrom", SenderNotAllowed,
                "The envelope sender (MAIL FROM) is not in a domain this API key may send from.");
        }

        if (envelope.Recipients.Count == 0)
        {
            return Refuse(SubmissionOutcome.Invalid, "recipients", ValidationCodes.NoRecipients, "At least one recipient is required.");
        }

        if (envelope.Recipients.Count > _limits.MaxRecipients)
        {
            return Refuse(SubmissionOutcome.Invalid, "recipients", ValidationCodes.TooManyRecipients,
                $"{envelope.Recipients.Count} recipients; at most {_limits.MaxRecipients} are allowed per message.");
        }

        if (envelope.Recipients.Any(r => AddressSyntax.Check(r) is not null))
        {
            return Refuse(SubmissionOutcome.Invalid, "recipients", ValidationCodes.InvalidAddress, "A recipient address is not valid.");
        }

        var content = request.Content.Span;
        var blank = content.IndexOf("\r\n\r\n"u8);
        var headerBytes = blank < 0 ? content.Length : blank + 2;
        if (headerBytes > _limits.MaxHeaderBytes)
        {
            return Refuse(SubmissionOutcome.Invalid, "headers", ValidationCodes.HeadersTooLarge,
                $"The message's headers take {headerBytes} octets; at most {_limits.MaxHeaderBytes} are allowed.");
        }

        var scan = WireScan.Of(content);
        if (scan.BareLineBreaks)
        {
            return Refuse(SubmissionOutcome.Invalid, "", ValidationCodes.UnsendableMessage, "The message has a line break that is not CRLF.");
        }

        var headerScan = WireScan.Of(content[..headerBytes]);
        if (headerScan.LongestLine > WireScan.MaxLineOctets)
        {
            return Refuse(SubmissionOutcome.Invalid, "headers", ValidationCodes.HeaderLineTooLong,
                $"A header line has {headerScan.LongestLine} octets; SMTP allows {WireScan.MaxLineOctets}.");
        }

        if (headerScan.EightBitHeaders)
        {
            return Refuse(SubmissionOutcome.Invalid, "headers", ValidationCodes.ForbiddenCharacters,
                "The header section has 8-bit octets; encode non-ASCII text as RFC 2047 encoded words.");
        }

        // A last line without CRLF is completed: MimeKit would keep a last header's value without its line ending and
        // glue the Message-ID and Date added below onto it.
        var complete = content.IsEmpty || content.EndsWith("\r\n"u8) ? request.Content : WithCrlf(content);
        MimeMessage mime;
        try
        {
            mime = MimeMessage.Load(AsStream(complete), cancellationToken);
        }
        catch (FormatException)
        {
            return Refuse(SubmissionOutcome.Invalid, "", ValidationCodes.UnsendableMessage, "The message is not a MIME message (RFC 5322).");
        }

        if (mime.Headers.Count(h => h.Id == HeaderId.From) != 1 || mime.From.Mailboxes.ToList() is not { Count: > 0 } from)
        {
            return Refuse(SubmissionOutcome.Invalid, "from", ValidationCodes.Required, "The message needs exactly one From header with an address.");
        }

        if (from.Any(m => !key.MaySendFrom(m.Address)) || (mime.Sender is { } sender && !key.MaySendFrom(sender.Address)))
        {
            LogSenderRefused(key.Id, "header From");
            return Refuse(SubmissionOutcome.SenderNotAllowed, "from", SenderNotAllowed,
                "The header From (or Sender) is not in a domain this API key may send from.");
        }

        // Bcc is for the envelope only (RFC 6409 section 8 lets a submission server remove it, as the composer never writes it).
        mime.Headers.RemoveAll(HeaderId.Bcc);
        mime.Headers.RemoveAll(HeaderId.ResentBcc);
        var now = time.GetUtcNow();
        var id = Guid.CreateVersion7(now).ToString("N");
        if (string.IsNullOrWhiteSpace(mime.MessageId))
        {
            var domain = string.IsNullOrWhiteSpace(_limits.MessageIdDomain) ? AddressSyntax.AsciiDomainOf(from[0].Address) : _limits.MessageIdDomain.Trim();
            mime.MessageId = $"{id}@{domain}";
        }

        if (!mime.Headers.Contains(HeaderId.Date))
        {
            mime.Date = now;
        }

        if (scan.EightBitBody || scan.LongestLine > WireScan.MaxLineOctets)
        {
            // Normalised, not refused: the parts with 8-bit octets or long lines get a 7-bit transfer encoding.
            mime.Prepare(EncodingConstraint.SevenBit, WireScan.MaxLineOctets);
        }

        byte[] bytes;
        using (var buffer = new MemoryStream(complete.Length + 256))
        {
            mime.WriteTo(MessageComposer.WireFormat, buffer, cancellationToken);
            bytes = buffer.ToArray();
        }

        var written = WireScan.Of(bytes);
        if (!written.IsValidSmtpData || written.EightBitHeaders || written.EightBitBody)
        {
            return Refuse(SubmissionOutcome.Invalid, "", ValidationCodes.UnsendableMessage,
                "The message cannot be made 7-bit SMTP data with lines of at most 998 octets.");
        }

        if (validator.CheckComposedSize(bytes.LongLength) is { } grown)
        {
            return (null, new SubmissionResult(SubmissionOutcome.TooLarge, Errors: [grown]));
        }

        bytes = signer.Sign(mime, bytes);
        var trace = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current : null;
        var submission = new Submission
        {
            MessageId = id,
            Owner = key.Id,
            Envelope = new Envelope(envelope.MailFrom, [.. envelope.Recipients.Distinct(StringComparer.OrdinalIgnoreCase)]),
            Content = bytes,
            AcceptedAt = now,
            TraceParent = trace?.Id,
            TraceState = trace?.TraceStateString,
        };
        return (submission, null);
    }

    private static (Submission?, SubmissionResult?) Refuse(SubmissionOutcome outcome, string field, string code, string message) =>
        (null, new SubmissionResult(outcome, Errors: [new ValidationError(field, code, message)]));

    private static byte[] WithCrlf(ReadOnlySpan<byte> content) => [.. content, (byte)'\r', (byte)'\n'];

    private static MemoryStream AsStream(ReadOnlyMemory<byte> content) =>
        MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);

    [LoggerMessage(Level = LogLevel.Information, Message = "Accepted MIME message {MessageId} from key {KeyId} ({Bytes} bytes)")]
    private partial void LogAccepted(string messageId, string keyId, int bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {KeyId} tried to send from a domain it may not use ({Where})")]
    private partial void LogSenderRefused(string keyId, string where);

    [LoggerMessage(Level = LogLevel.Error, Message = "The queue or a store is unavailable: {Reason}")]
    private partial void LogStoreUnavailable(Exception? exception, string? reason);
}
