using MailGateway.Core.Messages;
using Envelope = MailGateway.Core.Messages.Envelope;
using MailKit;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace MailGateway.Core.Delivery;

/// <summary>
/// Sends one message over a connected session: MAIL, RCPT (every reply recorded), DATA with the stored bytes as they
/// are, in one transaction per <see cref="SmtpRelayOptions.MaxRecipientsPerTransaction"/> recipients, and turns the
/// replies into a <see cref="DeliveryOutcome"/>. Nothing is retried once MAIL FROM has been answered.
/// </summary>
internal sealed partial class SmtpTransaction(SmtpRelayOptions options, TimeProvider time, ILogger logger)
{
    // Writes the stored headers as they are (UTF-8 included) and makes MailKit announce SMTPUTF8.
    private static readonly FormatOptions InternationalFormat = CreateInternationalFormat();

    /// <summary>Sends <paramref name="request"/>; Healthy is false when the session must not be reused.</summary>
    public async Task<(DeliveryOutcome Outcome, bool Healthy)> SendAsync(RelaySession session, DeliveryRequest request, CancellationToken cancellationToken)
    {
        var client = session.Client;
        var tls = client.IsSecure ? client.SslProtocol.ToString() : null;
        var cipher = client.IsSecure ? client.SslCipherSuite?.ToString() : null;
        DeliveryOutcome Build(DeliveryOutcomeKind kind, string reason, SmtpReply? reply, IReadOnlyList<RecipientResult> recipients) => new()
        {
            Kind = kind,
            Reason = reason,
            Reply = reply,
            Port = session.Endpoint.Port,
            TlsProtocol = tls,
            TlsCipherSuite = cipher,
            Recipients = recipients,
        };
        (DeliveryOutcome, bool) Refuse(string reason) =>
            (Build(DeliveryOutcomeKind.Failed, reason, null, [.. request.Envelope.Recipients.Select(r => new RecipientResult(r, RecipientState.Failed, null))]), true);

        if ((client.Capabilities & SmtpCapabilities.Size) != 0 && client.MaxSize > 0)
        {
            var size = request.Size ?? request.Content.Length;
            if (size > (long)client.MaxSize)
            {
                return Refuse($"message is {size} bytes; the relay accepts at most {client.MaxSize} (SIZE)");
            }
        }

        // What goes on the wire is the stored bytes; one pass checks they are valid SMTP data for this relay.
        var content = request.Content;
        var scan = WireScan.Of(content.Span);
        if (scan.LongestLine > WireScan.MaxLineOctets)
        {
            return Refuse($"the stored message has a line of {scan.LongestLine} octets; SMTP allows {WireScan.MaxLineOctets}");
        }

        if (scan.BareLineBreaks)
        {
            // Stored before the API normalised line breaks: never let a bare CR or LF reach the relay.
            content = WireScan.NormalizeLineBreaks(content.Span);
        }

        var international = scan.EightBitHeaders || NeedsUtf8(request.Envelope);
        if (international && (client.Capabilities & SmtpCapabilities.UTF8) == 0)
        {
            return Refuse("the message has UTF-8 addresses or headers and the relay does not offer SMTPUTF8");
        }

        if (scan.EightBitBody && (client.Capabilities & SmtpCapabilities.EightBitMime) == 0)
        {
            return Refuse("the stored message has an 8-bit body and the relay does not offer 8BITMIME");
        }

        using var message = StoredMessage.Create(content, scan.EightBitBody);
        var format = international ? InternationalFormat : MessageComposer.WireFormat;
        var results = new List<RecipientResult>(request.Envelope.Recipients.Count);
        var healthy = true;
        SmtpReply? decisive = null;
        string? reason0 = null;
        var sender = MailboxAddress.Parse(request.Envelope.MailFrom);
        foreach (var chunk in request.Envelope.Recipients.Chunk(options.MaxRecipientsPerTransaction))
        {
            if (!healthy)
            {
                results.AddRange(chunk.Select(r => new RecipientResult(r, RecipientState.Deferred, null)));
                continue;
            }

            var (chunkResults, reply, reason, ok) = await SendTransactionAsync(client, format, message, sender, chunk, cancellationToken);
            results.AddRange(chunkResults);
            healthy = ok;
            if (reason0 is null || (reply is not null && !reply.IsPositive() && (decisive is null || decisive.IsPositive())))
            {
                decisive = reply;
                reason0 = reason;
            }
        }

        var kind = DeliveryOutcome.KindOf(results);
        var decisiveReason = kind switch
        {
            DeliveryOutcomeKind.Delivered when decisive is { } r && r.IsPositive() => r.ToString(),
            _ => FirstReason(results, kind) ?? reason0 ?? kind.ToString(),
        };
        var decisiveReply = kind == DeliveryOutcomeKind.Delivered
            ? decisive
            : results.FirstOrDefault(r => Matches(r.State, kind))?.Reply ?? decisive;
        if (kind == DeliveryOutcomeKind.Unknown || (kind == DeliveryOutcomeKind.Deferred && decisiveReply is null))
        {
            decisiveReason = reason0 ?? decisiveReason;
        }

        return (Build(kind, decisiveReason, decisiveReply, results), healthy);
    }

    private async Task<(List<RecipientResult> Results, SmtpReply? Reply, string Reason, bool Healthy)> SendTransactionAsync(
        TrackingSmtpClient client, FormatOptions format, StoredMessage message, MailboxAddress sender, string[] recipients, CancellationToken cancellationToken)
    {
        client.BeginTransaction();
        using var timer = new PhaseTimer(time, cancellationToken, options.CommandTimeout);
        client.ReplyReceived = () => timer.Arm(options.CommandTimeout);
        client.Watcher.FinalDotWritten = () => timer.Arm(options.DataTimeout);
        var progress = new Progress(() => timer.Arm(options.CommandTimeout));
        var mailboxes = recipients.Select(r => MailboxAddress.Parse(r)).ToList();
        try
        {
            var response = await client.SendAsync(format, message, sender, mailboxes, timer.Token, progress);
            var accepted = new SmtpReply(250, SmtpReplies.ParseEnhanced(response, out var text), text);
            return (ResultsAfterData(client, recipients, accepted, RecipientState.Delivered), accepted, accepted.ToString(), true);
        }
        catch (NoRecipientsAcceptedException)
        {
            var results = ResultsAfterData(client, recipients, null, RecipientState.Deferred);
            return (results, results.Select(r => r.Reply).FirstOrDefault(r => r is not null), "no recipient accepted", false);
        }
        catch (SmtpCommandException ex) when (ex.ErrorCode == SmtpErrorCode.SenderNotAccepted)
        {
            var reply = SmtpReplies.ToReply(ex);
            var state = reply.IsTransient ? RecipientState.Deferred : RecipientState.Failed;
            return ([.. recipients.Select(r => new RecipientResult(r, state, reply))], reply, "MAIL FROM refused: " + reply, false);
        }
        catch (SmtpCommandException ex)
        {
            // DATA or the final dot refused: a verdict for every recipient the relay had accepted.
            var reply = SmtpReplies.ToReply(ex);
            var state = reply.IsTransient ? RecipientState.Deferred : RecipientState.Failed;
            return (ResultsAfterData(client, recipients, reply, state), reply, "message refused: " + reply, false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return LostConnection(client, recipients, "timed out waiting for the relay");
        }
        catch (OperationCanceledException)
        {
            return LostConnection(client, recipients, "cancelled");
        }
        catch (Exception ex) when (RelayErrors.IsNetworkFailure(ex))
        {
            return LostConnection(client, recipients, "connection lost: " + ex.Message);
        }
        finally
        {
            client.ReplyReceived = null;
            client.Watcher.FinalDotWritten = null;
        }
    }

    private (List<RecipientResult>, SmtpReply?, string, bool) LostConnection(TrackingSmtpClient client, string[] recipients, string what)
    {
        if (client.Watcher.FinalDotSent)
        {
            var reason = what + " after the final dot: the relay may have accepted the message";
            LogUnknown(logger, reason);
            return (ResultsAfterData(client, recipients, null, RecipientState.Unknown), null, reason, false);
        }

        return (ResultsAfterData(client, recipients, null, RecipientState.Deferred), null, what + " before the end of DATA", false);
    }

    // Recipients the relay refused keep their RCPT reply; the others take the outcome of the transaction.
    private static List<RecipientResult> ResultsAfterData(TrackingSmtpClient client, string[] recipients, SmtpReply? reply, RecipientState accepted)
    {
        var results = new List<RecipientResult>(recipients.Length);
        foreach (var recipient in recipients)
        {
            if (client.RecipientReplies.TryGetValue(recipient, out var response) && (int)response.StatusCode >= 300)
            {
                var rcpt = new SmtpReply((int)response.StatusCode, SmtpReplies.ParseEnhanced(response.Response, out var text), text);
                // RFC 5321 §4.5.3.1.10: 552 to RCPT means "too many recipients"; retry later, like 452.
                var state = rcpt.IsTransient || rcpt.Code == 552 ? RecipientState.Deferred : RecipientState.Failed;
                results.Add(new RecipientResult(recipient, state, rcpt));
            }
            else
            {
                results.Add(new RecipientResult(recipient, accepted, reply));
            }
        }

        return results;
    }

    private static bool Matches(RecipientState state, DeliveryOutcomeKind kind) => kind switch
    {
        DeliveryOutcomeKind.Deferred => state == RecipientState.Deferred,
        DeliveryOutcomeKind.Failed => state == RecipientState.Failed,
        DeliveryOutcomeKind.Unknown => state == RecipientState.Unknown,
        _ => state == RecipientState.Delivered,
    };

    private static string? FirstReason(List<RecipientResult> results, DeliveryOutcomeKind kind) =>
        results.FirstOrDefault(r => Matches(r.State, kind) && r.Reply is not null)?.Reply?.ToString();

    // A UTF-8 local-part cannot be written in ASCII (a UTF-8 domain can: IDNA), so it needs SMTPUTF8.
    private static bool NeedsUtf8(Envelope envelope) =>
        HasUtf8LocalPart(envelope.MailFrom) || envelope.Recipients.Any(HasUtf8LocalPart);

    private static bool HasUtf8LocalPart(string address)
    {
        var at = address.LastIndexOf('@');
        return address.AsSpan(0, at < 0 ? address.Length : at).ContainsAnyExceptInRange('\0', '\x7f');
    }

    private static FormatOptions CreateInternationalFormat()
    {
        var format = MessageComposer.WireFormat.Clone();
        format.International = true;
        return format;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery outcome unknown: {Reason}")]
    private static partial void LogUnknown(ILogger logger, string reason);

    private sealed class Progress(Action onProgress) : ITransferProgress
    {
        public void Report(long bytesTransferred, long totalSize) => onProgress();

        public void Report(long bytesTransferred) => onProgress();
    }
}

/// <summary>An inactivity timer for one SMTP phase: every reply or data write re-arms it.</summary>
internal sealed class PhaseTimer : IDisposable
{
    private readonly CancellationTokenSource _timeout;
    private readonly CancellationTokenSource _linked;

    public PhaseTimer(TimeProvider time, CancellationToken cancellationToken, TimeSpan initial)
    {
        _timeout = new CancellationTokenSource(initial, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token, cancellationToken);
    }

    public CancellationToken Token => _linked.Token;

    public void Arm(TimeSpan timeout)
    {
        try
        {
            _timeout.CancelAfter(timeout);
        }
        catch (ObjectDisposedException)
        {
            // The phase already ended.
        }
    }

    public void Dispose()
    {
        _linked.Dispose();
        _timeout.Dispose();
    }
}
