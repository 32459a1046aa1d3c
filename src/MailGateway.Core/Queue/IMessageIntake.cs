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

    /// <summary>
    /// The content reference under which this intake stores the composed MIME of <paramref name="messageId"/> in the
    /// same transaction as its record and job (see the overload of <c>CreateAndEnqueueAsync</c> with the content), or
    /// <see langword="null"/> when it does not store content: the caller then saves it through
    /// <see cref="Storage.IMessageContentStore.SaveAsync"/> first.
    /// </summary>
    string? ContentReferenceFor(string messageId);

    /// <summary>
    /// As <see cref="CreateAndEnqueueAsync(MessageRecord, IdempotencyClaim?, DeliveryJob, DateTimeOffset?, CancellationToken)"/>,
    /// and stores <paramref name="content"/> under <see cref="DeliveryJob.ContentReference"/> (which must be
    /// <see cref="ContentReferenceFor"/> of the message) in the same transaction: content, record and job, all or
    /// nothing, durable when the task completes. Nothing is stored when the record is not created (idempotency replay).
    /// Only valid when <see cref="ContentReferenceFor"/> returns a reference.
    /// </summary>
    Task<CreateMessageResult> CreateAndEnqueueAsync(MessageRecord record, IdempotencyClaim? idempotency, DeliveryJob job, DateTimeOffset? notBefore, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);
}
