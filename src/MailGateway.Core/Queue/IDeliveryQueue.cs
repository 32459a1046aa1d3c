namespace MailGateway.Core.Queue;

/// <summary>The sending side of the delivery queue (SQLite table or Service Bus queue).</summary>
public interface IDeliveryQueue
{
    /// <summary>
    /// Durably enqueues a job, visible no earlier than <paramref name="notBefore"/> (null: now). Enqueuing the same
    /// first attempt twice (same <see cref="DeliveryJob.MessageId"/> and attempt) must not create two jobs.
    /// </summary>
    Task EnqueueAsync(DeliveryJob job, DateTimeOffset? notBefore, CancellationToken cancellationToken);

    /// <summary>True when the queue can be reached (readiness probe).</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}

/// <summary>
/// One leased job and its settlement. Exactly one of the settle methods is called per lease; if none is (crash,
/// lost lock) the queue makes the job visible again after its lease expires.
/// </summary>
public interface IDeliveryJobContext
{
    /// <summary>The job.</summary>
    DeliveryJob Job { get; }

    /// <summary>How many times the queue has handed out this job (1 on first delivery).</summary>
    int DeliveryCount { get; }

    /// <summary>Removes the job: done (delivered, expired, or nothing left to do).</summary>
    Task CompleteAsync(CancellationToken cancellationToken);

    /// <summary>Atomically enqueues <paramref name="next"/> visible at <paramref name="notBefore"/> and removes this job.</summary>
    Task RescheduleAsync(DeliveryJob next, DateTimeOffset notBefore, CancellationToken cancellationToken);

    /// <summary>Moves the job to the dead-letter store with a reason and a description (e.g. the SMTP reply).</summary>
    Task DeadLetterAsync(string reason, string description, CancellationToken cancellationToken);
}

/// <summary>Host-agnostic handling of one leased job; the SQLite pump and the Service Bus processor both call it.</summary>
public interface IDeliveryJobHandler
{
    /// <summary>Delivers the job's message and settles the job through <paramref name="context"/>.</summary>
    Task HandleAsync(IDeliveryJobContext context, CancellationToken cancellationToken);
}
