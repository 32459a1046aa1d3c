using MailGateway.Core.Delivery;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;

namespace MailGateway.Core.Queue;

/// <summary>
/// Records that a message was delivered and ends its job: the status record becomes <see cref="MessageState.Delivered"/>
/// with the attempt, the job is completed and, when asked, the stored content is deleted. The SQLite store does all
/// three in one transaction; <see cref="StoreDeliveryRecorder"/> does them one after the other on any stores.
/// </summary>
public interface IDeliveryRecorder
{
    /// <summary>
    /// Records the delivery. Throws only when the status record could not be written (the caller keeps the outcome
    /// and retries); once it is written, a job or content that could not be removed is left for the queue (the job
    /// comes back and completes without sending) or for clean-up.
    /// </summary>
    Task RecordDeliveredAsync(IDeliveryJobContext context, DeliveryAttemptRecord attempt, IReadOnlyList<RecipientResult> recipients, string? reply, bool deleteContent, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IDeliveryRecorder"/> on separate stores (Table storage, Service Bus, Blob storage): the status record
/// first, then the job, then the content. A crash between them leaves a final record with a job (completed without
/// sending when it comes back) or with content (removed by the Blob lifecycle rule).
/// </summary>
public sealed class StoreDeliveryRecorder(IMessageStatusStore status, IMessageContentStore content) : IDeliveryRecorder
{
    /// <inheritdoc />
    public async Task RecordDeliveredAsync(IDeliveryJobContext context, DeliveryAttemptRecord attempt, IReadOnlyList<RecipientResult> recipients, string? reply, bool deleteContent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        await status.RecordAttemptAsync(context.Job.MessageId, attempt, MessageState.Delivered, recipients, null, reply, cancellationToken);
        try
        {
            await context.CompleteAsync(cancellationToken);
            if (deleteContent)
            {
                await content.DeleteAsync(context.Job.ContentReference, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The record is final: the job comes back and completes without sending; content is left for clean-up.
            throw new DeliveryRecordedException("The delivery is recorded; completing the job or deleting the content failed.", ex);
        }
    }
}

/// <summary>The delivery is recorded (the status record is final), but a later step of settling it failed.</summary>
public sealed class DeliveryRecordedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DeliveryRecordedException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public DeliveryRecordedException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public DeliveryRecordedException() { }
}
