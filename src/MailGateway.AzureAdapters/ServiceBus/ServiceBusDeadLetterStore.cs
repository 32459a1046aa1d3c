using System.Globalization;
using System.Runtime.CompilerServices;
using System.Transactions;
using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.Status;
using MailGateway.Core.Queue;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>
/// The dead letters of the Service Bus queue: its dead-letter sub-queue, a dead letter's id its sequence number there,
/// the job read with the one job serializer, reason and description as the worker set them, the owner from the message's
/// <see cref="DeliveryJobMessages.OwnerProperty"/> (or, for a message without it, the Table status record).
/// </summary>
/// <remarks>
/// <para>
/// Service Bus browses a sub-queue only oldest first and has no index, so a list (any filter, newest first, a cursor)
/// peeks the sub-queue up to <see cref="ServiceBusQueueOptions.DeadLetterScanLimit"/> messages and keeps the matches.
/// The owner travels on the message (set where the job is enqueued: accept, reschedule, replay; trusted for the reasons
/// given at <see cref="DeliveryJobMessages.OwnerOf"/>), so a page filtered by key costs no Table read; only a message
/// without it (enqueued by an earlier version) costs one, cached per call.
/// </para>
/// <para>
/// A message can only be locked by receiving it, and a receive hands out the head of the sub-queue: to take dead
/// letter <c>n</c>, the store receives from the head and <em>defers</em> every other message it receives (they stay,
/// reachable by number from then on, so each dead letter is scanned past at most once), or receives <c>n</c> directly
/// by number when an earlier scan deferred it. The lock is exclusive: of two concurrent replays (or a replay and a
/// purge) only one holds the message; the other finds it locked or gone and answers not found.
/// </para>
/// <para>
/// A replay, holding the lock, moves the status record back to <c>deferred</c> first (a worker that receives the job
/// must find a state it sends from), then completes the dead letter and sends the next attempt in one Service Bus
/// transaction (a client with cross-entity transactions, the sub-queue its first entity): both or neither. If the
/// transaction does not commit, the record is put back (if no one changed it since); after an ambiguous commit failure
/// (the job may have got through) the put-back final state makes the worker complete that job without sending — a
/// replay may be lost, never doubled. A lock that runs out mid-replay (5 minutes on our queue) lets another replay take
/// the message; the first one's complete then fails, its transaction rolls back, and it leaves the record to the second.
/// The job's Service Bus MessageId is <c>&lt;id&gt;#&lt;attempt&gt;</c>, so a repeated send of the same attempt is
/// also dropped by duplicate detection.
/// </para>
/// </remarks>
public sealed partial class ServiceBusDeadLetterStore : IDeadLetterStore
{
    private const int PeekBatch = 250;
    private const int ReceiveBatch = 100;

    private readonly IServiceBusDeadLetterQueue _queue;
    private readonly TableMessageStatusStore _status;
    private readonly IMessageContentStore _content;
    private readonly TimeProvider _time;
    private readonly ILogger<ServiceBusDeadLetterStore> _logger;
    private readonly int _scanLimit;

    /// <summary>Creates the store over the sub-queue, the Table status store and the Blob content store.</summary>
    public ServiceBusDeadLetterStore(
        IServiceBusDeadLetterQueue queue,
        TableMessageStatusStore status,
        IMessageContentStore content,
        IOptions<ServiceBusQueueOptions> options,
        TimeProvider time,
        ILogger<ServiceBusDeadLetterStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _queue = queue;
        _status = status;
        _content = content;
        _time = time;
        _logger = logger;
        _scanLimit = options.Value.DeadLetterScanLimit;
    }

    /// <inheritdoc />
    public async Task<DeadLetterPage> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, DeadLetterQuery.MaxLimit);
        long? after = TryParseId(query.After, out var cursor) ? cursor : null;
        var candidates = new List<(DeadLetterEntry Entry, bool OwnerCarried)>();
        await foreach (var message in PeekAllAsync(cancellationToken))
        {
            if (after is { } before && message.SequenceNumber >= before)
            {
                break; // Sequence numbers only grow: nothing further on is older than the cursor.
            }

            var carried = DeliveryJobMessages.OwnerOf(message.ApplicationProperties);
            var entry = ToEntry(message, carried ?? "");
            if (Matches(entry, query) && (carried is null || query.Owner is not { } wanted || string.Equals(carried, wanted, StringComparison.Ordinal)))
            {
                candidates.Add((entry, carried is not null));
            }
        }

        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        var items = new List<DeadLetterEntry>();
        for (var i = candidates.Count - 1; i >= 0 && items.Count <= limit; i--)
        {
            var (entry, ownerCarried) = candidates[i];
            var owner = ownerCarried ? entry.Owner : await OwnerAsync(entry.MessageId, owners, cancellationToken);
            if (query.Owner is { } wanted && !string.Equals(owner, wanted, StringComparison.Ordinal))
            {
                continue;
            }

            items.Add(entry with { Owner = owner });
        }

        if (items.Count <= limit)
        {
            return new DeadLetterPage(items, null);
        }

        items.RemoveAt(limit);
        return new DeadLetterPage(items, items[^1].Id);
    }

    /// <inheritdoc />
    public async Task<DeadLetterEntry?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var sequence) || await PeekOneAsync(sequence, cancellationToken) is not { } message)
        {
            return null;
        }

        if (DeliveryJobMessages.OwnerOf(message.ApplicationProperties) is { } carried)
        {
            return ToEntry(message, carried);
        }

        var entry = ToEntry(message, "");
        return entry with { Owner = await OwnerAsync(entry.MessageId, null, cancellationToken) };
    }

    /// <inheritdoc />
    public async Task<ReplayResult> ReplayAsync(string id, string reason, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var sequence) || await TakeAsync(sequence, cancellationToken) is not { } message)
        {
            return new ReplayResult(ReplayOutcome.NotFound);
        }

        var dead = TryRead(message);
        var now = _time.GetUtcNow();
        var returned = dead is null ? null : await ReturnToQueueAsync(message, dead.MessageId, now, reason, cancellationToken);
        if (dead is null || returned is null)
        {
            await ReleaseAsync(message);
            return new ReplayResult(ReplayOutcome.NotReplayable);
        }

        // A new attempt: numbered after every earlier one, its maximum-age clock restarted now and without the
        // caller's deadline (an operator's replay is the decision to try again) — as on SQLite.
        // The owner from the record: a dead letter of an earlier version did not carry it, its replay does.
        var job = dead with
        {
            Attempt = Math.Max(dead.Attempt, returned.Before.Attempts.Count) + 1, FirstSeen = now, ExpiresAt = null,
            Owner = returned.Before.Owner,
        };
        try
        {
            using (var scope = new TransactionScope(TransactionScopeOption.Required, TransactionScopeAsyncFlowOption.Enabled))
            {
                await _queue.CompleteAsync(message, cancellationToken);
                await _queue.SendAsync(DeliveryJobMessages.Create(job, null), cancellationToken);
                scope.Complete();
            }
        }
        catch (Exception ex)
        {
            LogReplayNotCommitted(ex, id, dead.MessageId);
            await _status.RestoreAsync(returned, CancellationToken.None);
            await ReleaseAsync(message);
            throw;
        }

        return new ReplayResult(ReplayOutcome.Replayed, job);
    }

    /// <inheritdoc />
    public async Task<bool> PurgeAsync(string id, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var sequence) || await TakeAsync(sequence, cancellationToken) is not { } message)
        {
            return false;
        }

        try
        {
            await _queue.CompleteAsync(message, cancellationToken);
        }
        catch (ServiceBusException ex) when (ex.Reason == ServiceBusFailureReason.MessageLockLost)
        {
            return false; // The lock ran out: it is someone else's now (or still there, to purge again).
        }

        if (TryRead(message) is { } job)
        {
            try
            {
                await _content.DeleteAsync(job.ContentReference, cancellationToken);
            }
            catch (ArgumentException)
            {
                LogForeignContentReference(id, job.MessageId); // Not a reference of this store: nothing of ours to delete.
            }
        }

        return true;
    }

    private async Task<TableMessageStatusStore.ReturnedToQueue?> ReturnToQueueAsync(
        ServiceBusReceivedMessage message, string messageId, DateTimeOffset now, string reason, CancellationToken cancellationToken)
    {
        try
        {
            return await _status.ReturnToQueueAsync(messageId, now, reason, cancellationToken);
        }
        catch
        {
            await ReleaseAsync(message);
            throw;
        }
    }

    /// <summary>
    /// Locks dead letter <paramref name="sequence"/>: by number when an earlier scan deferred it, otherwise by receiving
    /// from the head (deferring everything else received). Null when it is gone or another caller holds it.
    /// </summary>
    private async Task<ServiceBusReceivedMessage?> TakeAsync(long sequence, CancellationToken cancellationToken)
    {
        if (await _queue.ReceiveDeferredAsync(sequence, cancellationToken) is { } deferred)
        {
            return deferred;
        }

        if (await PeekOneAsync(sequence, cancellationToken) is not { } peeked || peeked.State == ServiceBusMessageState.Deferred)
        {
            return null; // Gone, or deferred and locked: a concurrent replay or purge holds it.
        }

        for (var scanned = 0; scanned < _scanLimit;)
        {
            var batch = await _queue.ReceiveAsync(Math.Min(ReceiveBatch, _scanLimit - scanned), cancellationToken);
            if (batch.Count == 0)
            {
                break;
            }

            ServiceBusReceivedMessage? found = null;
            foreach (var message in batch)
            {
                scanned++;
                if (message.SequenceNumber == sequence)
                {
                    found = message;
                }
                else
                {
                    await ReleaseAsync(message);
                }
            }

            if (found is not null)
            {
                return found;
            }
        }

        // Another caller's scan may have received it (and deferred it) while this one looked.
        return await _queue.ReceiveDeferredAsync(sequence, cancellationToken);
    }

    /// <summary>Gives a locked message back: a deferred one stays deferred, an active one is deferred (reachable by number).</summary>
    private async Task ReleaseAsync(ServiceBusReceivedMessage message)
    {
        try
        {
            if (message.State == ServiceBusMessageState.Deferred)
            {
                await _queue.AbandonAsync(message, CancellationToken.None);
            }
            else
            {
                await _queue.DeferAsync(message, CancellationToken.None);
            }
        }
        catch (ServiceBusException ex) when (ex.Reason == ServiceBusFailureReason.MessageLockLost)
        {
            // The lock ran out by itself: the message is free again either way.
        }
    }

    private async Task<ServiceBusReceivedMessage?> PeekOneAsync(long sequence, CancellationToken cancellationToken)
    {
        var peeked = await _queue.PeekAsync(sequence, 1, cancellationToken);
        return peeked is [var message] && message.SequenceNumber == sequence ? message : null;
    }

    private async IAsyncEnumerable<ServiceBusReceivedMessage> PeekAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Always from an explicit number: without one the receiver continues from its own last peek.
        long from = 0;
        for (var seen = 0; seen < _scanLimit;)
        {
            var batch = await _queue.PeekAsync(from, Math.Min(PeekBatch, _scanLimit - seen), cancellationToken);
            if (batch.Count == 0)
            {
                yield break;
            }

            foreach (var message in batch)
            {
                seen++;
                from = message.SequenceNumber + 1;
                yield return message;
            }
        }
    }

    private async Task<string> OwnerAsync(string messageId, Dictionary<string, string>? cache, CancellationToken cancellationToken)
    {
        if (cache is not null && cache.TryGetValue(messageId, out var known))
        {
            return known;
        }

        var owner = messageId.Length == 0 ? "" : (await _status.GetAsync(messageId, cancellationToken))?.Owner ?? "";
        cache?.TryAdd(messageId, owner);
        return owner;
    }

    private static bool Matches(DeadLetterEntry entry, DeadLetterQuery query) =>
        (query.Reason is not { } reason || string.Equals(entry.Reason, reason, StringComparison.Ordinal))
        && (query.Since is not { } since || entry.DeadLetteredAt.ToUnixTimeMilliseconds() >= since.ToUnixTimeMilliseconds())
        && (query.Until is not { } until || entry.DeadLetteredAt.ToUnixTimeMilliseconds() < until.ToUnixTimeMilliseconds());

    private static DeadLetterEntry ToEntry(ServiceBusReceivedMessage message, string owner)
    {
        var job = TryRead(message);
        var properties = message.ApplicationProperties;
        var messageId = job?.MessageId
            ?? (properties.TryGetValue(DeliveryJobMessages.GatewayIdProperty, out var gatewayId) && gatewayId is string id ? id : message.MessageId ?? "");
        var attempt = job?.Attempt ?? (Number(properties, DeliveryJobMessages.AttemptProperty) is { } n ? (int)n : 0);
        var deliveryCount = Number(properties, DeliveryJobMessages.DeliveryCountProperty) is { } count ? (int)count : message.DeliveryCount;
        var at = Number(properties, DeliveryJobMessages.DeadLetteredAtProperty) is { } ms
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : message.EnqueuedTime;
        return new DeadLetterEntry(
            message.SequenceNumber.ToString(CultureInfo.InvariantCulture), messageId, owner,
            message.DeadLetterReason ?? "", message.DeadLetterErrorDescription ?? "", attempt, deliveryCount, at, job);
    }

    private static long? Number(IReadOnlyDictionary<string, object> properties, string name) =>
        properties.TryGetValue(name, out var value) ? value switch
        {
            int i => i,
            long l => l,
            short s => s,
            _ => null,
        } : null;

    private static DeliveryJob? TryRead(ServiceBusReceivedMessage message)
    {
        try
        {
            return DeliveryJobMessages.Read(message);
        }
        catch (MalformedDeliveryJobException)
        {
            return null;
        }
    }

    private static bool TryParseId(string? id, out long sequence)
    {
        sequence = 0;
        return id is { Length: > 0 and <= 19 } && long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out sequence) && sequence > 0;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purged dead letter {DeadLetterId} (message {MessageId}) named content that is not a reference of this store; none deleted")]
    private partial void LogForeignContentReference(string deadLetterId, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replay of dead letter {DeadLetterId} (message {MessageId}) did not commit; its status record is put back")]
    private partial void LogReplayNotCommitted(Exception exception, string deadLetterId, string messageId);
}
