using MailGateway.Core.Queue;
using MailGateway.Core.Status;

namespace MailGateway.Embedded;

/// <summary>Records a message and enqueues its first job in one SQLite transaction: no record without its job, one commit.</summary>
public sealed class SqliteMessageIntake(SqliteDatabase database, SqliteMessageStatusStore status, SqliteDeliveryQueue queue, TimeProvider time) : IMessageIntake
{
    /// <inheritdoc />
    public async Task<CreateMessageResult> CreateAndEnqueueAsync(MessageRecord record, IdempotencyClaim? idempotency, DeliveryJob job, DateTimeOffset? notBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(job);
        var oldest = status.OldestRememberedKey();
        var now = time.GetUtcNow();
        var result = await database.WriteAsync((connection, transaction) =>
        {
            var created = SqliteMessageStatusStore.Create(connection, transaction, record, idempotency, oldest);
            if (created.Created)
            {
                SqliteDeliveryQueue.Insert(connection, transaction, job, notBefore ?? now, now);
            }

            return created;
        }, cancellationToken);
        if (result.Created)
        {
            queue.Signal();
        }

        return result;
    }
}
