using MailGateway.Core.Delivery;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using Microsoft.Extensions.Logging;

namespace MailGateway.Embedded;

/// <summary>
/// Records a delivery in one transaction of the group commit: the status record becomes <c>delivered</c>, the job is
/// deleted (when this lease still holds it; otherwise the job that holds it completes without sending; a context
/// that is not a <see cref="LeasedJob"/> is completed after the commit) and, with the
/// content in the database, the content row is deleted. One commit instead of three, and no crash between them can
/// leave a delivered message's MIME behind. Content in files is deleted after the commit; a file a crash leaves is
/// removed by <see cref="MessageRetentionJanitor"/>.
/// </summary>
public sealed partial class SqliteDeliveryRecorder : IDeliveryRecorder
{
    private readonly SqliteDatabase _database;
    private readonly FileMessageContentStore _files;
    private readonly TimeProvider _time;
    private readonly ILogger<SqliteDeliveryRecorder> _logger;

    /// <summary>Creates the recorder.</summary>
    public SqliteDeliveryRecorder(SqliteDatabase database, FileMessageContentStore files, TimeProvider time, ILogger<SqliteDeliveryRecorder> logger)
    {
        _database = database;
        _files = files;
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task RecordDeliveredAsync(IDeliveryJobContext context, DeliveryAttemptRecord attempt, IReadOnlyList<RecipientResult> recipients, string? reply, bool deleteContent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);

        // A context that is not this queue's own lease (a wrapper) completes itself, after the commit.
        var lease = context as LeasedJob;
        var job = context.Job;
        var contentId = SqliteMessageContentStore.IdOf(job.ContentReference);
        var now = _time.GetUtcNow();
        await _database.WriteAsync((connection, transaction) =>
        {
            if (SqliteMessageStatusStore.Read(connection, transaction, job.MessageId) is { } record)
            {
                SqliteMessageStatusStore.AppendAttempt(connection, transaction, record, attempt, MessageState.Delivered, recipients, null, reply, now);
            }

            if (lease is not null)
            {
                SqliteDeliveryQueue.DeleteIfHeld(connection, transaction, lease);
            }

            if (deleteContent && contentId is not null)
            {
                SqliteMessageContentStore.Delete(connection, transaction, contentId);
            }

            return true;
        }, cancellationToken);

        if (lease is null)
        {
            try
            {
                await context.CompleteAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw new DeliveryRecordedException("The delivery is recorded; completing the job failed.", ex);
            }
        }

        if (deleteContent && contentId is null)
        {
            try
            {
                await _files.DeleteAsync(job.ContentReference, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Committed: never fail (and so retry) the recording for the file.
                LogFileLeft(ex, job.MessageId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The message file of delivered message {MessageId} could not be deleted; the retention janitor removes it")]
    private partial void LogFileLeft(Exception exception, string messageId);
}
