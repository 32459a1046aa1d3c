using Azure;
using Azure.Data.Tables;
using MailGateway.Core.Events;
using MailGateway.Core.Status;

namespace MailGateway.AzureAdapters.Status;

/// <summary>
/// The status side of a dead-letter replay on Service Bus: the record goes back to <see cref="MessageState.Deferred"/>
/// (next attempt now, the replay as its last reply) before the job is sent, so the worker that receives the job finds
/// a state it sends from; if the send does not commit, the record is put back as it was — unless something else
/// changed it meanwhile (a replay that took over after this one's lock ran out).
/// </summary>
public sealed partial class TableMessageStatusStore
{
    /// <summary>What <see cref="ReturnToQueueAsync"/> changed: the record before, and the version it wrote.</summary>
    public sealed record ReturnedToQueue(MessageRecord Before, ETag Written);

    /// <summary>
    /// Moves the record to <see cref="MessageState.Deferred"/> with its next attempt at <paramref name="nextAttemptAt"/>
    /// and <paramref name="reply"/> as its last reply; returns the record as it was before (and the version written), or
    /// null when there is none. Deferred, not queued, as on SQLite: a queued message counts as waiting for its first attempt.
    /// </summary>
    public async Task<ReturnedToQueue?> ReturnToQueueAsync(string id, DateTimeOffset nextAttemptAt, string reply, CancellationToken cancellationToken)
    {
        for (var i = 0; i < MaxConflictRetries; i++)
        {
            var read = await ReadAsync(id, cancellationToken);
            if (read is null)
            {
                return null;
            }

            var (before, etag, status) = read.Value;
            var now = _time.GetUtcNow();
            var update = new TableEntity(id, StatusRow)
            {
                ["State"] = nameof(MessageState.Deferred),
                ["UpdatedAt"] = now,
                ["NextAttemptAt"] = nextAttemptAt,
                ["LastReply"] = Truncate(reply),
                [TableEventRows.SequenceProperty] = TableEventRows.LastSequence(status),
                [TableEventFeed.TicksProperty] = status.GetInt64(TableEventFeed.TicksProperty) ?? 0,
            };
            // The replay is a state change like any other: its deferred event (reply: who replayed it) in the same transaction.
            var replayed = before with { State = MessageState.Deferred, UpdatedAt = now, NextAttemptAt = nextAttemptAt, LastReply = reply };
            try
            {
                var written = await SubmitAsync(update, MessageEvents.ForState(replayed), [new TableTransactionAction(TableTransactionActionType.UpdateMerge, update, etag)], cancellationToken);
                return new ReturnedToQueue(before, written.ETag);
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // Changed since read: read again.
            }
        }

        throw new InvalidOperationException($"The status of {id} stayed contended; try again.");
    }

    /// <summary>
    /// Puts back the state, next attempt time and last reply the record had before <paramref name="returned"/> (a replay
    /// that did not commit), if the record is still the version that replay wrote; true when it was put back.
    /// </summary>
    public async Task<bool> RestoreAsync(ReturnedToQueue returned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(returned);
        var before = returned.Before;
        var current = await GetStatusEntityAsync(before.Id, cancellationToken);
        if (current is null || current.ETag != returned.Written)
        {
            return false; // Changed (or removed) since: it is no longer this replay's to put back.
        }

        // Replace, not merge: a merge cannot remove the next attempt time the replay set.
        var now = _time.GetUtcNow();
        current["State"] = before.State.ToString();
        current["UpdatedAt"] = now;
        Set(current, "NextAttemptAt", before.NextAttemptAt);
        Set(current, "LastReply", Truncate(before.LastReply));
        // Putting the state back is a state change too: the log shows the replay's deferred, then the state it went back to.
        var restored = FromEntity(current, []) with { LastReply = before.LastReply };
        try
        {
            await SubmitAsync(current, MessageEvents.ForState(restored), [new TableTransactionAction(TableTransactionActionType.UpdateReplace, current, returned.Written)], cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return false; // Changed (or removed) since: it is no longer this replay's to put back.
        }
    }
}
