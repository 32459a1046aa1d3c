using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using MailGateway.Core.Delivery;
using MailGateway.Core.Events;
using MailGateway.Core.Status;

namespace MailGateway.AzureAdapters.Status;

/// <summary>A bounce on Table storage: the recipient's status and its <c>bounced</c> event in one conditional transaction.</summary>
public sealed partial class TableMessageStatusStore
{
    /// <summary>The status record without its attempts (one point read), or null when there is none.</summary>
    internal async Task<MessageRecord?> GetStatusRecordAsync(string id, CancellationToken cancellationToken) =>
        await GetStatusEntityAsync(id, cancellationToken) is { } entity ? FromEntity(entity, []) : null;

    /// <summary>
    /// Makes <paramref name="address"/> <see cref="RecipientState.Bounced"/> with <paramref name="reply"/>, with its
    /// <c>bounced</c> event (<see cref="MessageEvents.ForBounce"/>) in the entity-group transaction that updates the
    /// status row (conditional on its ETag, retried on a conflict); the message's own state does not change. False
    /// when the recipient already is bounced (a report delivered twice: nothing is written) or the record is gone.
    /// </summary>
    internal async Task<bool> MarkBouncedAsync(string id, string address, SmtpReply reply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(reply);
        for (var i = 0; i < MaxConflictRetries; i++)
        {
            var current = await GetStatusEntityAsync(id, cancellationToken);
            if (current is null)
            {
                return false;
            }

            var before = FromEntity(current, []);
            if (before.Recipients.Any(r => r.State == RecipientState.Bounced && string.Equals(r.Address, address, StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }

            // As the standalone host's recorder: the recipient's result is replaced, or added when it had none yet.
            var bounced = new RecipientResult(address, RecipientState.Bounced, reply);
            var recipients = before.Recipients.Select(r => string.Equals(r.Address, address, StringComparison.OrdinalIgnoreCase) ? bounced : r).ToList();
            if (!recipients.Contains(bounced))
            {
                recipients.Add(bounced);
            }

            var now = _time.GetUtcNow();
            var after = before with { Recipients = recipients, UpdatedAt = now };
            current["UpdatedAt"] = now;
            RemoveChunks(current, "Recipients");
            WriteChunks(current, "Recipients", JsonSerializer.Serialize(recipients, StatusJsonContext.Default.ListRecipientResult));
            try
            {
                // Through SubmitAsync as every change with events: its entry in the event feed, then the transaction.
                await SubmitAsync(
                    current,
                    [MessageEvents.ForBounce(after, address, reply.ToString(), now)],
                    [new TableTransactionAction(TableTransactionActionType.UpdateReplace, current, current.ETag)],
                    cancellationToken);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // A worker recorded an attempt since we read it: apply the bounce onto the newer version.
            }
        }

        throw new InvalidOperationException($"The status of {id} stayed contended; try again.");
    }
}
