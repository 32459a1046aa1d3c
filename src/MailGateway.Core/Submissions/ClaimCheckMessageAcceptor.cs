using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Logging;

namespace MailGateway.Core.Submissions;

/// <summary>
/// The accept port on stores that share no transaction (Blob, Table and Service Bus in Azure): the content first, then
/// the status record (with the idempotency claim and what the first job needs), then the first job. The record is
/// written before the job, so a job never arrives without its record.
/// </summary>
/// <remarks>
/// Cleanup when a step fails: without an idempotency key nobody else can reach what this request wrote (the id never
/// left the server), so it is deleted again — the record, then the content. With a key, a failure after the content
/// is stored deletes nothing: the client's retry with the same key may already have found the record, and it
/// completes the acceptance by enqueuing the same first job (rebuilt from the record, never composed again), which is
/// also how a replay repairs a first job lost between the record and the queue.
/// </remarks>
public sealed partial class ClaimCheckMessageAcceptor(
    IMessageContentStore content,
    IMessageStatusStore status,
    IDeliveryQueue queue,
    ILogger<ClaimCheckMessageAcceptor> logger) : IMessageAcceptor
{
    /// <inheritdoc />
    public async Task<AcceptResult> AcceptAsync(Submission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        string reference;
        try
        {
            reference = await content.SaveAsync(submission.MessageId, submission.Content, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return AcceptResult.Unavailable(submission.MessageId, AcceptResult.NothingAccepted, ex);
        }

        CreateMessageResult created;
        try
        {
            created = await status.CreateAsync(submission.ToRecord(reference), submission.Claim, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await CleanUpAsync(submission, reference, recorded: true);
            return AcceptResult.Unavailable(submission.MessageId, AcceptResult.NothingAccepted, ex);
        }

        if (!created.Created)
        {
            // This request's copy of the content is not needed: the key points to the first message.
            await DeleteContentQuietlyAsync(reference);
            return await ReplayAsync(submission, created, cancellationToken);
        }

        try
        {
            await queue.EnqueueAsync(submission.FirstJob(reference), submission.NotBefore, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await CleanUpAsync(submission, reference, recorded: true);
            return AcceptResult.Unavailable(submission.MessageId, AcceptResult.NothingAccepted, ex);
        }

        return AcceptResult.Accepted(submission.MessageId, submission.IsScheduled);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AcceptResult>> AcceptBatchAsync(IReadOnlyList<Submission> submissions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submissions);

        // Blob, Table and Service Bus share no transaction: item by item, each durable on its own.
        var results = new AcceptResult[submissions.Count];
        for (var i = 0; i < submissions.Count; i++)
        {
            results[i] = await AcceptAsync(submissions[i], cancellationToken);
        }

        return results;
    }

    private async Task<AcceptResult> ReplayAsync(Submission submission, CreateMessageResult created, CancellationToken cancellationToken)
    {
        if (!string.Equals(created.RequestHash, submission.RequestHash, StringComparison.Ordinal))
        {
            return AcceptResult.KeyReused(created.MessageId);
        }

        try
        {
            var existing = await status.GetAsync(created.MessageId, cancellationToken);
            if (existing is null)
            {
                return AcceptResult.Unavailable(created.MessageId, AcceptResult.RecordUnavailable);
            }

            // The first request may have stopped between its record and its job: enqueuing the same first job again is
            // a no-op when it exists (duplicate detection), and the ledger stops a second send.
            if (existing.State.IsWaitingForFirstAttempt()
                && Submission.FirstJobOf(existing, submission.TraceParent, submission.TraceState) is { } job)
            {
                await queue.EnqueueAsync(job, Submission.NotBeforeOf(existing), cancellationToken);
            }

            return AcceptResult.Replayed(existing);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return AcceptResult.Unavailable(created.MessageId, AcceptResult.ReplayFailed, ex);
        }
    }

    private async Task CleanUpAsync(Submission submission, string reference, bool recorded)
    {
        if (submission.IdempotencyKey is not null)
        {
            return;
        }

        if (recorded)
        {
            try
            {
                await status.DeleteAsync(submission.MessageId, CancellationToken.None);
            }
            catch (Exception ex)
            {
                // Keep the content: a record that could not be removed must not point to nothing. Both are unreachable.
                LogCleanupFailed(ex, submission.MessageId);
                return;
            }
        }

        await DeleteContentQuietlyAsync(reference);
    }

    private async Task DeleteContentQuietlyAsync(string reference)
    {
        try
        {
            await content.DeleteAsync(reference, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // An orphaned blob is harmless: no job references it.
            LogCleanupFailed(ex, reference);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cleaning up after a failed accept failed ({What}); the leftover is unreachable")]
    private partial void LogCleanupFailed(Exception exception, string what);
}
