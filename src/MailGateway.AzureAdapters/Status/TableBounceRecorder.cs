using Azure;
using Azure.Identity;
using MailGateway.AzureAdapters.Suppressions;
using MailGateway.Core.Bounces;
using MailGateway.Core.Suppressions;

namespace MailGateway.AzureAdapters.Status;

/// <summary>
/// Applies a bounce on Table storage, as the standalone host's SQLite recorder does, for the inbound container app: the
/// message named by the signed token is read from the status table; its recipient goes on the sending key's suppression
/// list (table <c>Suppressions</c>: <c>bounce</c> for a DSN, <c>complaint</c> for an ARF report) and, for a DSN, becomes
/// <c>bounced</c> with a <c>bounced</c> event (<see cref="TableMessageStatusStore.MarkBouncedAsync"/>). The two tables
/// cannot share a transaction, so the entry is written first (it is what protects the address) and the status second;
/// both writes are idempotent (an upsert; a recipient already bounced is left alone), so a report that comes again
/// after a failure between them completes the rest and writes no second event. A failing Table service (or identity)
/// is a <see cref="BounceRecorderUnavailableException"/>: the listener answers 451 and the reporting MTA retries.
/// </summary>
public sealed class TableBounceRecorder(TableMessageStatusStore status, TableSuppressionList suppressions, TimeProvider time) : IBounceRecorder
{
    /// <inheritdoc />
    public async Task<BounceRecordOutcome> RecordAsync(BounceNotice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        try
        {
            var record = await status.GetStatusRecordAsync(notice.MessageId, cancellationToken);
            if (record is null)
            {
                return BounceRecordOutcome.UnknownMessage;
            }

            var envelope = record.Envelope?.Recipients ?? [];
            if (notice.RecipientIndex >= envelope.Count)
            {
                return BounceRecordOutcome.UnknownRecipient;
            }

            var address = envelope[notice.RecipientIndex];
            await suppressions.AddAsync(
                new SuppressionEntry(record.Owner, address, notice.SuppressionReason, time.GetUtcNow(), null, notice.SuppressionDetail, record.Id),
                cancellationToken);
            if (!notice.IsComplaint)
            {
                await status.MarkBouncedAsync(record.Id, address, notice.Reply(), cancellationToken);
            }

            return BounceRecordOutcome.Applied;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw new BounceRecorderUnavailableException("Table storage did not take the bounce: " + ex.Message, ex);
        }
    }

    /// <summary>
    /// A failure of the service or the identity, not of this code: the SDK's own error, its network timeout, or the
    /// <see cref="AggregateException"/> it throws when every retry failed (a refused connection, each try).
    /// </summary>
    private static bool IsUnavailable(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        RequestFailedException or AuthenticationFailedException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(e => IsUnavailable(e, cancellationToken)),
        _ => false,
    };
}
