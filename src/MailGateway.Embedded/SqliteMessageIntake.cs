using MailGateway.Core.Queue;
using MailGateway.Core.Status;

namespace MailGateway.Embedded;

/// <summary>
/// Records a message and enqueues its first job in one SQLite transaction: no record without its job, one commit.
/// With <paramref name="contentStore"/> (the content store is <see cref="SqliteMessageContentStore"/>) the composed MIME is
/// stored in that same transaction too: one group commit makes content, record and job durable, no file is written.
/// </summary>
public sealed class SqliteMessageIntake(SqliteDatabase database, SqliteMessageStatusStore status, SqliteDeliveryQueue queue, TimeProvider time, SqliteMessageContentStore? contentStore = null) : IMessageIntake
{
    /// <inheritdoc />
    public Task<CreateMessageResult> CreateAndEnqueueAsync(MessageRecord record, IdempotencyClaim? idempotency, DeliveryJob job, DateTimeOffset? notBefore, CancellationToken cancellationToken) =>
        CreateCoreAsync(record, idempotency, job, notBefore, null, cancellationToken);

    /// <inheritdoc />
    public string? ContentReferenceFor(string messageId) => contentStore is null ? null : SqliteMessageContentStore.ReferenceFor(messageId);

    /// <inheritdoc />
    public Task<CreateMessageResult> CreateAndEnqueueAsync(MessageRecord record, IdempotencyClaim? idempotency, DeliveryJob job, DateTimeOffset? notBefore, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(job);
        var reference = ContentReferenceFor(record.Id) ?? throw new InvalidOperationException("This intake does not store content: save it through the content store.");
        if (!string.Equals(job.ContentReference, reference, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The job must reference {reference}.", nameof(job));
        }

        return CreateCoreAsync(record, idempotency, job, notBefore, content, cancellationToken);
    }

    private async Task<CreateMessageResult> CreateCoreAsync(MessageRecord record, IdempotencyClaim? idempotency, DeliveryJob job, DateTimeOffset? notBefore, ReadOnlyMemory<byte>? mime, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(job);
        var oldest = status.OldestRememberedKey();
        var now = time.GetUtcNow();
        var sha = mime is { } content ? System.Security.Cryptography.SHA256.HashData(content.Span) : null;
        var result = await database.WriteAsync((connection, transaction) =>
        {
            var created = SqliteMessageStatusStore.Create(connection, transaction, record, idempotency, oldest);
            if (created.Created)
            {
                if (mime is { } bytes)
                {
                    SqliteMessageContentStore.Insert(connection, transaction, job.ContentReference, bytes, sha!);
                }

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
