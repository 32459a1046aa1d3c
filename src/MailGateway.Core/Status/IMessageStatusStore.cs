namespace MailGateway.Core.Status;

/// <summary>An idempotency key as scoped to one API key, with a hash of the request body it was first used with.</summary>
public sealed record IdempotencyClaim(string Owner, string Key, string RequestHash, DateTimeOffset CreatedAt);

/// <summary>The result of <see cref="IMessageStatusStore.CreateAsync"/>.</summary>
/// <param name="Created">True when this call created the record; false when the idempotency key already existed.</param>
/// <param name="MessageId">The id of the record created now, or of the one the key already pointed to.</param>
/// <param name="RequestHash">The request hash the key was first used with.</param>
public sealed record CreateMessageResult(bool Created, string MessageId, string RequestHash);

/// <summary>Status records, attempts and idempotency keys (SQLite in the standalone host, Table storage in Azure).</summary>
public interface IMessageStatusStore
{
    /// <summary>
    /// Creates the record. With an idempotency claim, atomically: if the (owner, key) pair exists, nothing is
    /// created and the existing message id and request hash are returned (also when two requests race).
    /// </summary>
    Task<CreateMessageResult> CreateAsync(MessageRecord record, IdempotencyClaim? idempotency, CancellationToken cancellationToken);

    /// <summary>Reads a record, or null.</summary>
    Task<MessageRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// The ledger step before sending: moves the record to <see cref="MessageState.Sending"/> unless it is already
    /// in a final state (delivered, failed, expired, unknown). Returns the record as it was before, or null when missing.
    /// Implementations use optimistic concurrency so two workers cannot both claim the same attempt.
    /// </summary>
    Task<MessageRecord?> TryBeginSendingAsync(string id, CancellationToken cancellationToken);

    /// <summary>Appends an attempt and sets the new state, recipients and next attempt time.</summary>
    Task RecordAttemptAsync(string id, DeliveryAttemptRecord attempt, MessageState newState, IReadOnlyList<Delivery.RecipientResult> recipients, DateTimeOffset? nextAttemptAt, string? lastReply, CancellationToken cancellationToken);

    /// <summary>Sets the state without an attempt (expired before sending, dead-lettered job, …).</summary>
    Task SetStateAsync(string id, MessageState state, string? lastReply, CancellationToken cancellationToken);

    /// <summary>
    /// Removes a record and its attempts; a missing one is not an error. An idempotency key that points to it is not
    /// removed (the accept port deletes only records of submissions without a key, which nobody else can reach).
    /// </summary>
    Task DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>True when the store can be reached (readiness probe).</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}
