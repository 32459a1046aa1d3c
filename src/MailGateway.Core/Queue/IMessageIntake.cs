using MailGateway.Core.Status;

namespace MailGateway.Core.Queue;

/// <summary>
/// Optional: a status store and queue that share one transactional store (the embedded SQLite database) can record a
/// message and enqueue its first job atomically. The API uses it when it is registered, and otherwise calls
/// <see cref="IMessageStatusStore.CreateAsync"/> then <see cref="IDeliveryQueue.EnqueueAsync"/> (Table storage and
/// Service Bus cannot share a transaction).
/// </summary>
public interface IMessageIntake
{
    /// <summary>
    /// <see cref="IMessageStatusStore.CreateAsync"/> and, when it created the record, <see cref="IDeliveryQueue.EnqueueAsync"/>
    /// of <paramref name="job"/> — both or neither, durable when the task completes.
    /// </summary>
    Task<CreateMessageResult> CreateAndEnqueueAsync(MessageRecord record, IdempotencyClaim? idempotency, DeliveryJob job, DateTimeOffset? notBefore, CancellationToken cancellationToken);
}
