using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;

namespace MailGateway.Core.Submissions;

/// <summary>
/// The accept port: makes a composed message durable — its content, its status record (with the idempotency claim)
/// and its first delivery job — or nothing of it. Every entry point (the HTTP API, the batch endpoint, SMTP
/// submission) ends in this one call, through <see cref="MessageSubmission"/>. Implementations: the embedded SQLite
/// one (one transaction of the group commit) and <see cref="ClaimCheckMessageAcceptor"/> (content, then status, then
/// job, on stores that share no transaction: Blob, Table, Service Bus).
/// </summary>
public interface IMessageAcceptor
{
    /// <summary>
    /// Accepts one message. <see cref="AcceptOutcome.Accepted"/> and <see cref="AcceptOutcome.Replayed"/> mean the
    /// message is durable and its first job enqueued; <see cref="AcceptOutcome.Unavailable"/> means nothing of this
    /// request is visible (with an idempotency key the record may stay, for a retry with the same key to complete).
    /// Never throws for a store failure.
    /// </summary>
    Task<AcceptResult> AcceptAsync(Submission submission, CancellationToken cancellationToken);

    /// <summary>
    /// Accepts several messages, with one durable commit for all of them where the stores allow it (SQLite: one
    /// transaction; the claim check: one after the other). One result per submission, in order.
    /// </summary>
    Task<IReadOnlyList<AcceptResult>> AcceptBatchAsync(IReadOnlyList<Submission> submissions, CancellationToken cancellationToken);
}

/// <summary>How an accept ended.</summary>
public enum AcceptOutcome
{
    /// <summary>Stored and enqueued now.</summary>
    Accepted,

    /// <summary>The idempotency key was used before with the same request: the first message's id (its first job enqueued again if it still waits for it).</summary>
    Replayed,

    /// <summary>The idempotency key was used before with a different request: nothing stored.</summary>
    KeyReused,

    /// <summary>A store failed: nothing of this request is visible.</summary>
    Unavailable,
}

/// <summary>The result of <see cref="IMessageAcceptor.AcceptAsync"/>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="MessageId">The accepted (or replayed) message's id; for <see cref="AcceptOutcome.KeyReused"/> the first message's; for <see cref="AcceptOutcome.Unavailable"/> the submission's.</param>
/// <param name="Scheduled">True when the message was accepted with a <c>sendAt</c> in the future.</param>
/// <param name="Reason">For <see cref="AcceptOutcome.Unavailable"/>: what failed, in words for the caller.</param>
/// <param name="Error">For <see cref="AcceptOutcome.Unavailable"/>: the store's exception, for the log.</param>
public sealed record AcceptResult(AcceptOutcome Outcome, string MessageId, bool Scheduled = false, string? Reason = null, Exception? Error = null)
{
    /// <summary>The reason of a failure before anything was made durable.</summary>
    public const string NothingAccepted = "The queue or the message store is unavailable; nothing was accepted.";

    /// <summary>The reason of a failure while replaying an earlier answer.</summary>
    public const string ReplayFailed = "The queue or the message store is unavailable.";

    /// <summary>The reason when the idempotency key points to a record that cannot be read.</summary>
    public const string RecordUnavailable = "The status store is unavailable.";

    /// <summary>Stored and enqueued now.</summary>
    public static AcceptResult Accepted(string messageId, bool scheduled) => new(AcceptOutcome.Accepted, messageId, scheduled);

    /// <summary>The earlier answer of the same request.</summary>
    public static AcceptResult Replayed(MessageRecord existing)
    {
        ArgumentNullException.ThrowIfNull(existing);
        return new(AcceptOutcome.Replayed, existing.Id, existing.SendAt is { } sendAt && sendAt > existing.CreatedAt);
    }

    /// <summary>The key was first used with another request.</summary>
    public static AcceptResult KeyReused(string firstMessageId) => new(AcceptOutcome.KeyReused, firstMessageId);

    /// <summary>A store failed.</summary>
    public static AcceptResult Unavailable(string messageId, string reason, Exception? error = null) => new(AcceptOutcome.Unavailable, messageId, Reason: reason, Error: error);
}

/// <summary>
/// A composed message ready to be accepted: what the acceptor stores, and the rules that turn it into a status record
/// and a first delivery job (written once here for every acceptor).
/// </summary>
public sealed record Submission
{
    /// <summary>The server-generated message id (time-ordered, 32 hex digits).</summary>
    public required string MessageId { get; init; }

    /// <summary>The id of the API key that submitted it.</summary>
    public required string Owner { get; init; }

    /// <summary>MAIL FROM and the recipients.</summary>
    public required Envelope Envelope { get; init; }

    /// <summary>The composed MIME, exactly as it is stored and sent.</summary>
    public required ReadOnlyMemory<byte> Content { get; init; }

    /// <summary>When the gateway accepted it.</summary>
    public required DateTimeOffset AcceptedAt { get; init; }

    /// <summary>The caller's scheduled send time.</summary>
    public DateTimeOffset? SendAt { get; init; }

    /// <summary>The caller's deliver-by deadline.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The caller's tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The caller's metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The caller's idempotency key, scoped to <see cref="Owner"/>; null for none.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>A hash of the request, compared when the key is used again (same hash: replay; other: key reused).</summary>
    public string RequestHash { get; init; } = "";

    /// <summary>The W3C traceparent of the accepting request (its delivery joins that trace); null when not traced.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The W3C tracestate of the accepting request.</summary>
    public string? TraceState { get; init; }

    /// <summary>True when <see cref="SendAt"/> is in the future: the first attempt waits for it.</summary>
    public bool IsScheduled => SendAt is { } sendAt && sendAt > AcceptedAt;

    /// <summary>When the first job becomes visible (null: at once).</summary>
    public DateTimeOffset? NotBefore => IsScheduled ? SendAt : null;

    /// <summary>The idempotency claim, when there is a key.</summary>
    public IdempotencyClaim? Claim => IdempotencyKey is null ? null : new IdempotencyClaim(Owner, IdempotencyKey, RequestHash, AcceptedAt);

    /// <summary>The status record of the accepted message, with what its first job needs.</summary>
    public MessageRecord ToRecord(string contentReference) => new()
    {
        Id = MessageId,
        Owner = Owner,
        State = IsScheduled ? MessageState.Scheduled : MessageState.Queued,
        CreatedAt = AcceptedAt,
        UpdatedAt = AcceptedAt,
        SendAt = SendAt,
        ExpiresAt = ExpiresAt,
        NextAttemptAt = NotBefore,
        Tags = Tags,
        Metadata = Metadata,
        ContentReference = contentReference,
        Envelope = Envelope,
    };

    /// <summary>The first delivery job of the accepted message.</summary>
    public DeliveryJob FirstJob(string contentReference) => new()
    {
        MessageId = MessageId,
        ContentReference = contentReference,
        MailFrom = Envelope.MailFrom,
        Recipients = Envelope.Recipients,

        // The maximum-age clock starts when the message is due, not when it was scheduled.
        FirstSeen = NotBefore ?? AcceptedAt,
        ExpiresAt = ExpiresAt,
        TraceParent = TraceParent,
        TraceState = TraceState,
        Owner = Owner,
    };

    /// <summary>
    /// The first delivery job of an accepted message rebuilt from its status record (the same job
    /// <see cref="FirstJob"/> made), carrying <paramref name="traceParent"/>; null for a record written without its
    /// content reference and envelope (earlier versions).
    /// </summary>
    public static DeliveryJob? FirstJobOf(MessageRecord record, string? traceParent = null, string? traceState = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.ContentReference is not { } reference || record.Envelope is not { } envelope)
        {
            return null;
        }

        return new DeliveryJob
        {
            MessageId = record.Id,
            ContentReference = reference,
            MailFrom = envelope.MailFrom,
            Recipients = envelope.Recipients,
            FirstSeen = record.SendAt is { } sendAt && sendAt > record.CreatedAt ? sendAt : record.CreatedAt,
            ExpiresAt = record.ExpiresAt,
            TraceParent = traceParent,
            TraceState = traceState,
            Owner = record.Owner,
        };
    }

    /// <summary>When the rebuilt first job of <paramref name="record"/> becomes visible.</summary>
    public static DateTimeOffset? NotBeforeOf(MessageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.SendAt is { } sendAt && sendAt > record.CreatedAt ? sendAt : null;
    }
}
