using System.Security.Cryptography;
using MailGateway.Core.Status;
using MailGateway.Core.Submissions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>
/// The accept port on the embedded database: the status record (with the idempotency claim), the first job and — with
/// <see cref="MessageContentStoreKind.Sqlite"/>, the default — the composed MIME in one transaction of the group
/// commit: all or nothing, durable when the task completes, no file and no fsync of its own. With
/// <see cref="MessageContentStoreKind.Files"/> the file is written (and fsynced) first and deleted again when the
/// transaction fails or the idempotency key was used before. A batch is one transaction.
/// </summary>
public sealed partial class SqliteMessageAcceptor : IMessageAcceptor
{
    private readonly SqliteDatabase _database;
    private readonly SqliteMessageStatusStore _status;
    private readonly SqliteDeliveryQueue _queue;
    private readonly FileMessageContentStore _files;
    private readonly TimeProvider _time;
    private readonly ILogger<SqliteMessageAcceptor> _logger;
    private readonly bool _inline;

    /// <summary>Creates the acceptor; <see cref="EmbeddedStorageOptions.ContentStore"/> says where the MIME goes.</summary>
    public SqliteMessageAcceptor(
        SqliteDatabase database,
        SqliteMessageStatusStore status,
        SqliteDeliveryQueue queue,
        FileMessageContentStore files,
        IOptions<EmbeddedStorageOptions> options,
        TimeProvider time,
        ILogger<SqliteMessageAcceptor> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _database = database;
        _status = status;
        _queue = queue;
        _files = files;
        _time = time;
        _logger = logger;
        _inline = options.Value.ContentStore == MessageContentStoreKind.Sqlite;
    }

    /// <inheritdoc />
    public async Task<AcceptResult> AcceptAsync(Submission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        var (prepared, failed) = await PrepareAsync(submission, cancellationToken);
        if (failed is not null)
        {
            return failed;
        }

        var content = prepared!;
        var oldest = _status.OldestRememberedKey();
        var now = _time.GetUtcNow();
        AcceptResult result;
        try
        {
            result = await _database.WriteAsync((connection, transaction) => Write(connection, transaction, submission, content, oldest, now), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await DeleteFileQuietlyAsync(content);
            return AcceptResult.Unavailable(submission.MessageId, AcceptResult.NothingAccepted, ex);
        }

        return await FinishAsync(result, content);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AcceptResult>> AcceptBatchAsync(IReadOnlyList<Submission> submissions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submissions);
        var results = new AcceptResult?[submissions.Count];
        var contents = new PreparedContent?[submissions.Count];
        for (var i = 0; i < submissions.Count; i++)
        {
            (contents[i], results[i]) = await PrepareAsync(submissions[i], cancellationToken);
        }

        var oldest = _status.OldestRememberedKey();
        var now = _time.GetUtcNow();
        try
        {
            // One transaction for the batch; each message in its own savepoint, so one that fails is rolled back alone.
            var written = await _database.WriteAsync((connection, transaction) =>
            {
                var batch = new AcceptResult?[submissions.Count];
                for (var i = 0; i < submissions.Count; i++)
                {
                    if (results[i] is not null)
                    {
                        continue;
                    }

                    transaction.Save("accept");
                    try
                    {
                        batch[i] = Write(connection, transaction, submissions[i], contents[i]!, oldest, now);
                        transaction.Release("accept");
                    }
                    catch (SqliteException ex)
                    {
                        transaction.Rollback("accept");
                        transaction.Release("accept");
                        batch[i] = AcceptResult.Unavailable(submissions[i].MessageId, AcceptResult.NothingAccepted, ex);
                    }
                }

                return batch;
            }, cancellationToken);
            for (var i = 0; i < submissions.Count; i++)
            {
                results[i] ??= await FinishAsync(written[i]!, contents[i]!);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            for (var i = 0; i < submissions.Count; i++)
            {
                if (results[i] is null)
                {
                    await DeleteFileQuietlyAsync(contents[i]!);
                    results[i] = AcceptResult.Unavailable(submissions[i].MessageId, AcceptResult.NothingAccepted, ex);
                }
            }
        }

        return results!;
    }

    /// <summary>The content's reference: in the database (hashed here, not by the single writer), or a file written and fsynced now.</summary>
    private async Task<(PreparedContent? Content, AcceptResult? Failed)> PrepareAsync(Submission submission, CancellationToken cancellationToken)
    {
        if (_inline)
        {
            return (new PreparedContent(SqliteMessageContentStore.ReferenceFor(submission.MessageId), SHA256.HashData(submission.Content.Span)), null);
        }

        try
        {
            return (new PreparedContent(await _files.SaveAsync(submission.MessageId, submission.Content, cancellationToken), null), null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return (null, AcceptResult.Unavailable(submission.MessageId, AcceptResult.NothingAccepted, ex));
        }
    }

    private static AcceptResult Write(SqliteConnection connection, SqliteTransaction transaction, Submission submission, PreparedContent content, long oldest, DateTimeOffset now)
    {
        var created = SqliteMessageStatusStore.Create(connection, transaction, submission.ToRecord(content.Reference), submission.Claim, oldest);
        if (created.Created)
        {
            if (content.Sha256 is { } sha)
            {
                SqliteMessageContentStore.Insert(connection, transaction, content.Reference, submission.Content, sha);
            }

            SqliteDeliveryQueue.Insert(connection, transaction, submission.FirstJob(content.Reference), submission.NotBefore ?? now, now);
            return AcceptResult.Accepted(submission.MessageId, submission.IsScheduled);
        }

        if (!string.Equals(created.RequestHash, submission.RequestHash, StringComparison.Ordinal))
        {
            return AcceptResult.KeyReused(created.MessageId);
        }

        var existing = SqliteMessageStatusStore.Read(connection, transaction, created.MessageId);
        if (existing is null)
        {
            return AcceptResult.Unavailable(created.MessageId, AcceptResult.RecordUnavailable);
        }

        // Content, record and job are one transaction here, so the first job can only be missing if something removed
        // it; enqueuing it again is a no-op when it is there (the (message, attempt) key).
        if (existing.State.IsWaitingForFirstAttempt() && Submission.FirstJobOf(existing, submission.TraceParent, submission.TraceState) is { } job)
        {
            SqliteDeliveryQueue.Insert(connection, transaction, job, Submission.NotBeforeOf(existing) ?? now, now);
        }

        return AcceptResult.Replayed(existing);
    }

    private async Task<AcceptResult> FinishAsync(AcceptResult result, PreparedContent content)
    {
        if (result.Outcome is AcceptOutcome.Accepted or AcceptOutcome.Replayed)
        {
            _queue.Signal();
        }

        if (result.Outcome != AcceptOutcome.Accepted)
        {
            // This request's file is not referenced by anything (the key points to the first message's).
            await DeleteFileQuietlyAsync(content);
        }

        return result;
    }

    private async Task DeleteFileQuietlyAsync(PreparedContent content)
    {
        if (content.Sha256 is not null)
        {
            return; // in the database: rolled back with the transaction
        }

        try
        {
            await _files.DeleteAsync(content.Reference, CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // An orphaned file is harmless: no job references it.
            LogOrphanedFile(ex, content.Reference);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete the unused message file {Reference}")]
    private partial void LogOrphanedFile(Exception exception, string reference);

    private sealed record PreparedContent(string Reference, byte[]? Sha256);
}
