using System.Diagnostics;
using MailGateway.Core.Dkim;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using Microsoft.Extensions.Logging;

namespace MailGateway.Core.Submissions;

/// <summary>A message as an entry point read it, with the key it came with.</summary>
public sealed record SubmissionRequest
{
    /// <summary>The verified key of the caller.</summary>
    public required VerifiedApiKey Sender { get; init; }

    /// <summary>The message.</summary>
    public required OutboundMessage Message { get; init; }

    /// <summary>The caller's scheduled send time.</summary>
    public DateTimeOffset? SendAt { get; init; }

    /// <summary>The caller's deliver-by deadline.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The caller's idempotency key (already checked for its syntax by the entry point), or null.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>A hash of the request as the caller sent it: the same request again is a replay, another one under the same key is refused.</summary>
    public string RequestHash { get; init; } = "";

    /// <summary>
    /// Problems the entry point found while reading the input (a JSON value of the wrong shape, bad base64), reported
    /// together with the validation errors, first.
    /// </summary>
    public IReadOnlyList<ValidationError> InputErrors { get; init; } = [];
}

/// <summary>How a submission ended.</summary>
public enum SubmissionOutcome
{
    /// <summary>Durable and enqueued now.</summary>
    Accepted,

    /// <summary>The same request under the same idempotency key was accepted before: the first message.</summary>
    Replayed,

    /// <summary>The message has problems (<see cref="SubmissionResult.Errors"/>, every one at once).</summary>
    Invalid,

    /// <summary>The key may not send from the sender's domain.</summary>
    SenderNotAllowed,

    /// <summary>The composed message is larger than the limit (<see cref="SubmissionResult.Errors"/>).</summary>
    TooLarge,

    /// <summary>The idempotency key was used with a different request.</summary>
    KeyReused,

    /// <summary>A store failed: nothing of this request is visible (<see cref="SubmissionResult.Reason"/>).</summary>
    Unavailable,
}

/// <summary>The result of <see cref="MessageSubmission.SubmitAsync"/>: a value for every expected outcome.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="MessageId">The accepted or replayed message's id.</param>
/// <param name="Scheduled">True when the message waits for its <c>sendAt</c>.</param>
/// <param name="Errors">For <see cref="SubmissionOutcome.Invalid"/> and <see cref="SubmissionOutcome.TooLarge"/>: the problems.</param>
/// <param name="Reason">For <see cref="SubmissionOutcome.Unavailable"/>: what failed, in words for the caller.</param>
public sealed record SubmissionResult(SubmissionOutcome Outcome, string? MessageId = null, bool Scheduled = false, IReadOnlyList<ValidationError>? Errors = null, string? Reason = null);

/// <summary>
/// Accepting a message, the same for every entry point (the HTTP API today; the batch endpoint and SMTP submission
/// next): validate → the key's sender-domain rule → compose → size check → <see cref="IMessageAcceptor"/>. The trace
/// context of the current activity (the request's) goes with the message to its delivery. The composed message is
/// DKIM-signed here, once (<see cref="DkimMessageSigner"/>): the stored bytes are the signed bytes every attempt sends.
/// </summary>
public sealed partial class MessageSubmission(
    MessageValidator validator,
    MessageComposer composer,
    DkimMessageSigner signer,
    IMessageAcceptor acceptor,
    TimeProvider time,
    ILogger<MessageSubmission> logger)
{
    /// <summary>
    /// Validates, composes and accepts <paramref name="request"/>. <paramref name="cancellationToken"/> reaches the
    /// stores: pass <see cref="CancellationToken.None"/> where a client that goes away must not cut an accept in half.
    /// </summary>
    public async Task<SubmissionResult> SubmitAsync(SubmissionRequest request, CancellationToken cancellationToken)
    {
        var (submission, refused) = Prepare(request);
        if (submission is null)
        {
            return refused!;
        }

        return Answer(request, submission, await acceptor.AcceptAsync(submission, cancellationToken));
    }

    /// <summary>
    /// Validates and composes every request, then accepts all the valid ones in one call of the accept port (one
    /// transaction where the store allows it: SQLite). One result per request, in order.
    /// </summary>
    public async Task<IReadOnlyList<SubmissionResult>> SubmitBatchAsync(IReadOnlyList<SubmissionRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new SubmissionResult?[requests.Count];
        var prepared = new List<(int Index, Submission Submission)>();
        for (var i = 0; i < requests.Count; i++)
        {
            var (submission, refused) = Prepare(requests[i]);
            if (submission is null)
            {
                results[i] = refused;
            }
            else
            {
                prepared.Add((i, submission));
            }
        }

        if (prepared.Count > 0)
        {
            var accepted = await acceptor.AcceptBatchAsync([.. prepared.Select(p => p.Submission)], cancellationToken);
            for (var j = 0; j < prepared.Count; j++)
            {
                results[prepared[j].Index] = Answer(requests[prepared[j].Index], prepared[j].Submission, accepted[j]);
            }
        }

        return results!;
    }

    private (Submission? Submission, SubmissionResult? Refused) Prepare(SubmissionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var message = request.Message;
        var errors = new List<ValidationError>(request.InputErrors);
        errors.AddRange(validator.Validate(message));
        if (errors.Count > 0)
        {
            return (null, new SubmissionResult(SubmissionOutcome.Invalid, Errors: errors));
        }

        if (!request.Sender.MaySendFrom(message.From.Address))
        {
            LogSenderRefused(request.Sender.Id);
            return (null, new SubmissionResult(SubmissionOutcome.SenderNotAllowed));
        }

        var now = time.GetUtcNow();
        var id = Guid.CreateVersion7(now).ToString("N");
        ComposedMessage composed;
        try
        {
            composed = signer.Sign(composer.Compose(message, id));
        }
        catch (MessageCompositionException ex)
        {
            // The composer's own check of its output (CRLF only, lines within 998 octets) refused it.
            return (null, new SubmissionResult(SubmissionOutcome.Invalid, Errors: [ex.Error]));
        }

        if (validator.CheckComposedSize(composed.Bytes.LongLength) is { } tooLarge)
        {
            return (null, new SubmissionResult(SubmissionOutcome.TooLarge, Errors: [tooLarge]));
        }

        var trace = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current : null;
        var submission = new Submission
        {
            MessageId = id,
            Owner = request.Sender.Id,
            Envelope = composed.Envelope,
            Content = composed.Bytes,
            AcceptedAt = now,
            SendAt = request.SendAt,
            ExpiresAt = request.ExpiresAt,
            Tags = message.Tags,
            Metadata = message.Metadata,
            IdempotencyKey = request.IdempotencyKey,
            RequestHash = request.RequestHash,
            TraceParent = trace?.Id,
            TraceState = trace?.TraceStateString,
        };

        return (submission, null);
    }

    private SubmissionResult Answer(SubmissionRequest request, Submission submission, AcceptResult accepted)
    {
        switch (accepted.Outcome)
        {
            case AcceptOutcome.Accepted:
                LogAccepted(accepted.MessageId, request.Sender.Id, submission.Content.Length);
                return new SubmissionResult(SubmissionOutcome.Accepted, accepted.MessageId, accepted.Scheduled);
            case AcceptOutcome.Replayed:
                LogReplayed(accepted.MessageId, request.Sender.Id);
                return new SubmissionResult(SubmissionOutcome.Replayed, accepted.MessageId, accepted.Scheduled);
            case AcceptOutcome.KeyReused:
                return new SubmissionResult(SubmissionOutcome.KeyReused, accepted.MessageId);
            default:
                LogStoreUnavailable(accepted.Error, accepted.Reason);
                return new SubmissionResult(SubmissionOutcome.Unavailable, Reason: accepted.Reason ?? AcceptResult.NothingAccepted);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Accepted message {MessageId} from key {KeyId} ({Bytes} bytes)")]
    private partial void LogAccepted(string messageId, string keyId, int bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed the answer for message {MessageId} to key {KeyId} (same Idempotency-Key and body)")]
    private partial void LogReplayed(string messageId, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {KeyId} tried to send from a domain it may not use")]
    private partial void LogSenderRefused(string keyId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The queue or a store is unavailable: {Reason}")]
    private partial void LogStoreUnavailable(Exception? exception, string? reason);
}
