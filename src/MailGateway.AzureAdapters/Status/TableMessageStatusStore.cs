using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Data.Tables;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Delivery;
using MailGateway.Core.Events;
using MailGateway.Core.Messages;
using MailGateway.Core.Status;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Status;

/// <summary>
/// Status records in Table storage. One partition per message: the row <c>status</c> holds the record, one row per
/// attempt (<c>attempt-00001</c> …) holds the attempts, so an attempt and the new state are written in one entity
/// group transaction. Every update of the status row is conditional on its ETag (optimistic concurrency): of two
/// workers that read the same state, only one can move it to <see cref="MessageState.Sending"/>. Every state change
/// also adds its events (<see cref="MessageEvents"/>, the standalone host's rule) as event rows of the same partition in
/// the same transaction (<see cref="TableEventRows"/>), so a change that loses its ETag race writes no event.
/// Idempotency keys live in their own table, keyed by a hash of (owner, key).
/// </summary>
public sealed partial class TableMessageStatusStore : IMessageStatusStore
{
    internal const string StatusRow = "status";
    private const string AttemptRowPrefix = "attempt-";
    private const string AttemptRowEnd = "attempt.";
    private const int MaxConflictRetries = 16;

    // A string property holds at most 64 KiB (32 K UTF-16 chars); longer JSON is split over numbered properties.
    private const int ChunkChars = 30_000;
    private const int MaxReplyChars = 8_000;

    private readonly TableClient _status;
    private readonly TableClient _idempotency;
    private readonly TimeProvider _time;
    private readonly TimeSpan _retention;
    private readonly ILogger<TableMessageStatusStore> _logger;
    private readonly AsyncOnce _created;
    private readonly TableEventFeed _feed;

    /// <summary>Creates the store on the configured tables.</summary>
    public TableMessageStatusStore(TableServiceClient service, IOptions<AzureStorageOptions> options, TimeProvider time, ILogger<TableMessageStatusStore> logger)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        _status = service.GetTableClient(options.Value.StatusTable);
        _idempotency = service.GetTableClient(options.Value.IdempotencyTable);
        _time = time;
        _retention = options.Value.IdempotencyRetention;
        _logger = logger;
        _feed = new TableEventFeed(service, options.Value, time);
        var create = options.Value.CreateIfNotExists;
        _created = new AsyncOnce(async ct =>
        {
            if (create)
            {
                await _status.CreateIfNotExistsAsync(ct);
                await _idempotency.CreateIfNotExistsAsync(ct);
                await _feed.Table.CreateIfNotExistsAsync(ct);
            }
        });
    }

    /// <inheritdoc />
    public async Task<CreateMessageResult> CreateAsync(MessageRecord record, IdempotencyClaim? idempotency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!IsValidKey(record.Id))
        {
            throw new ArgumentException("A message id must be a valid Table partition key.", nameof(record));
        }

        await _created.EnsureAsync(cancellationToken);

        // The record first, then the key: a key never points to a record that does not exist. A crash in between
        // leaves an orphan record that nobody was told about.
        var entity = ToEntity(record);
        var events = MessageEvents.ForAccept(record);
        Committed created;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                created = await SubmitAsync(entity, events, [new TableTransactionAction(TableTransactionActionType.Add, entity)], cancellationToken);
                break;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // A feed reader fenced this accept (its entry waited longer than EventFeedGrace for the transaction):
                // a tombstone holds its first event number in a partition without a record. Number after it, again.
                if (attempt < 2 && await FencedNumberAsync(record.Id, cancellationToken) is { } fenced)
                {
                    entity = ToEntity(record);
                    entity[TableEventRows.SequenceProperty] = fenced;
                    continue;
                }

                throw new InvalidOperationException($"A message with id {record.Id} already exists.", ex);
            }
        }

        if (idempotency is null)
        {
            return new CreateMessageResult(true, record.Id, "");
        }

        var key = IdempotencyEntity(idempotency, record.Id);
        for (var i = 0; i < MaxConflictRetries; i++)
        {
            try
            {
                await _idempotency.AddEntityAsync(key, cancellationToken);
                return new CreateMessageResult(true, record.Id, idempotency.RequestHash);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Someone holds the key: use theirs, unless it is past retention.
            }

            var existing = await _idempotency.GetEntityIfExistsAsync<TableEntity>(key.PartitionKey, key.RowKey, cancellationToken: cancellationToken);
            if (!existing.HasValue || existing.Value is null)
            {
                continue; // Deleted meanwhile: try to add again.
            }

            var held = existing.Value;
            var createdAt = held.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue;
            if (_time.GetUtcNow() - createdAt >= _retention)
            {
                try
                {
                    await _idempotency.UpdateEntityAsync(key, held.ETag, TableUpdateMode.Replace, cancellationToken);
                    LogIdempotencyKeyExpired(idempotency.Owner, record.Id);
                    return new CreateMessageResult(true, record.Id, idempotency.RequestHash);
                }
                catch (RequestFailedException ex) when (ex.Status is 412 or 404)
                {
                    continue; // Another request took it over first.
                }
            }

            // The record and its accepted event go together: the caller is told about the other message only.
            await _status.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(record.Id, StatusRow), ETag.All),
                    new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(record.Id, TableEventRows.RowKey(created.Entry?.First ?? 1)), ETag.All),
                ],
                cancellationToken);
            if (created.Entry is { } entry)
            {
                // Its feed entry too; a reader serves an entry only EventFeedSettle after its time, this runs milliseconds
                // after it (see "Limits and known gaps" for a loser slower than that).
                await _feed.DeleteAsync(entry, cancellationToken);
            }

            return new CreateMessageResult(false, held.GetString("MessageId"), held.GetString("RequestHash") ?? "");
        }

        throw new InvalidOperationException("The idempotency key stayed contended; try again.");
    }

    /// <inheritdoc />
    public async Task<MessageRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var read = await ReadAsync(id, cancellationToken);
        return read?.Record;
    }

    /// <inheritdoc />
    public async Task<MessageRecord?> TryBeginSendingAsync(string id, CancellationToken cancellationToken)
    {
        for (var i = 0; i < MaxConflictRetries; i++)
        {
            var read = await ReadAsync(id, cancellationToken);
            if (read is null)
            {
                return null;
            }

            var (before, etag, _) = read.Value;
            if (before.State.IsFinal())
            {
                return before;
            }

            var update = new TableEntity(id, StatusRow)
            {
                ["State"] = MessageState.Sending.ToString(),
                ["UpdatedAt"] = _time.GetUtcNow(),
            };
            try
            {
                await _status.UpdateEntityAsync(update, etag, TableUpdateMode.Merge, cancellationToken);
                return before;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // Another worker changed it since we read it: read again and decide on the new state.
            }
        }

        throw new InvalidOperationException($"The status of {id} stayed contended; try again.");
    }

    /// <inheritdoc />
    public async Task RecordAttemptAsync(
        string id,
        DeliveryAttemptRecord attempt,
        MessageState newState,
        IReadOnlyList<RecipientResult> recipients,
        DateTimeOffset? nextAttemptAt,
        string? lastReply,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        ArgumentNullException.ThrowIfNull(recipients);
        for (var i = 0; i < MaxConflictRetries; i++)
        {
            var current = await GetStatusEntityAsync(id, cancellationToken)
                ?? throw new InvalidOperationException($"No status record for {id}.");
            var now = _time.GetUtcNow();
            var before = FromEntity(current, []);
            var after = before with { State = newState, UpdatedAt = now, Recipients = recipients, NextAttemptAt = nextAttemptAt, LastReply = lastReply };
            // Replace, not merge: a merge cannot remove a property (a next-attempt time that no longer applies).
            var update = current;
            update["State"] = newState.ToString();
            update["UpdatedAt"] = now;
            Set(update, "NextAttemptAt", nextAttemptAt);
            Set(update, "LastReply", Truncate(lastReply));
            RemoveChunks(update, "Recipients");
            WriteChunks(update, "Recipients", JsonSerializer.Serialize([.. recipients], StatusJsonContext.Default.ListRecipientResult));
            var attemptRow = new TableEntity(id, AttemptRowKey(attempt.Number))
            {
                ["Number"] = attempt.Number,
                ["StartedAt"] = attempt.StartedAt,
                ["DurationTicks"] = attempt.Duration.Ticks,
                ["Outcome"] = attempt.Outcome.ToString(),
                ["Port"] = attempt.Port,
                ["TlsProtocol"] = attempt.TlsProtocol,
                ["Reply"] = Truncate(attempt.Reply),
            };
            try
            {
                await SubmitAsync(
                    update,
                    MessageEvents.ForAttempt(before, after, attempt),
                    [
                        new TableTransactionAction(TableTransactionActionType.UpdateReplace, update, update.ETag),
                        new TableTransactionAction(TableTransactionActionType.UpsertReplace, attemptRow),
                    ],
                    cancellationToken);
                return;
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 412)
            {
                // Changed since read: merge onto the newer version.
            }
        }

        throw new InvalidOperationException($"The status of {id} stayed contended; try again.");
    }

    /// <inheritdoc />
    public async Task SetStateAsync(string id, MessageState state, string? lastReply, CancellationToken cancellationToken)
    {
        for (var i = 0; i < MaxConflictRetries; i++)
        {
            var current = await GetStatusEntityAsync(id, cancellationToken)
                ?? throw new InvalidOperationException($"No status record for {id}.");
            var now = _time.GetUtcNow();
            var update = current;
            update["State"] = state.ToString();
            update["UpdatedAt"] = now;
            Set(update, "LastReply", Truncate(lastReply));
            if (state.IsFinal())
            {
                update.Remove("NextAttemptAt");
            }

            var after = FromEntity(update, []) with { LastReply = lastReply };
            try
            {
                await SubmitAsync(update, MessageEvents.ForState(after), [new TableTransactionAction(TableTransactionActionType.UpdateReplace, update, update.ETag)], cancellationToken);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // Changed since read: apply onto the newer version.
            }
        }

        throw new InvalidOperationException($"The status of {id} stayed contended; try again.");
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsValidKey(id))
        {
            return;
        }

        await _created.EnsureAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {id}");
        await foreach (var row in _status.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            await _status.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _created.EnsureAsync(cancellationToken);
            await _status.GetEntityIfExistsAsync<TableEntity>("readiness", "probe", cancellationToken: cancellationToken);
            return true;
        }
        catch (RequestFailedException ex)
        {
            LogNotReady(ex);
            return false;
        }
        catch (Azure.Identity.AuthenticationFailedException ex)
        {
            LogNotReady(ex);
            return false;
        }
    }

    /// <summary>The highest fenced event number of a partition that has no status row (a fenced accept), or null.</summary>
    private async Task<long?> FencedNumberAsync(string id, CancellationToken cancellationToken)
    {
        if ((await _status.GetEntityIfExistsAsync<TableEntity>(id, StatusRow, cancellationToken: cancellationToken)).HasValue)
        {
            return null; // a record exists: the id is taken
        }

        long? fenced = null;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {id} and RowKey ge {TableEventRows.Prefix} and RowKey lt {TableEventRows.PrefixEnd} and Tombstone eq true");
        await foreach (var row in _status.QueryAsync<TableEntity>(filter, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            var number = long.Parse(row.RowKey.AsSpan(TableEventRows.Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture);
            fenced = Math.Max(fenced ?? 0, number);
        }

        return fenced;
    }

    /// <summary>A committed change: the status row's new ETag (when known) and its feed entry (when it had events).</summary>
    private readonly record struct Committed(ETag ETag, TableEventFeed.Entry? Entry);

    /// <summary>The steps of <see cref="SubmitAsync"/>, for tests that stop a writer between them (a crash).</summary>
    internal enum Step
    {
        /// <summary>The feed entry is written, the transaction not submitted.</summary>
        EntryWritten,

        /// <summary>The transaction committed, the entry not confirmed.</summary>
        Committed,
    }

    /// <summary>Tests only: called after each <see cref="Step"/>; an exception thrown here stops the writer as a crash would.</summary>
    internal Action<Step>? AfterStep { get; set; }

    /// <summary>
    /// Submits a change's transaction (<paramref name="actions"/>, the status row's first) with its events as event
    /// rows (numbered on <paramref name="status"/>), and its entry in the event feed (<see cref="TableEventFeed"/>):
    /// entry, transaction, confirmation. A transaction that fails is settled at once — it had committed after all (an
    /// answer lost, the SDK's retry refused: then it counts as committed, not applied again), or it is fenced so it
    /// never will — and its exception is rethrown.
    /// </summary>
    private async Task<Committed> SubmitAsync(TableEntity status, IReadOnlyList<MessageEvent> events, IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken)
    {
        var eventActions = TableEventRows.Append(status, events);
        if (eventActions.Count == 0)
        {
            var plain = await _status.SubmitTransactionAsync(actions, cancellationToken);
            return new Committed(plain.Value[0].Headers.ETag ?? default, null);
        }

        var rows = eventActions.Select(a => (TableEntity)a.Entity).ToList();
        var changeId = Guid.NewGuid().ToString("N");
        rows[0][TableEventFeed.ChangeIdProperty] = changeId;
        var entry = await _feed.WriteAsync(status.PartitionKey, rows, events, changeId, status.GetInt64(TableEventFeed.TicksProperty) ?? 0, cancellationToken);
        status[TableEventFeed.TicksProperty] = entry.Ticks; // the status row is the first action: written with the change
        AfterStep?.Invoke(Step.EntryWritten);
        Response<IReadOnlyList<Response>> response;
        try
        {
            response = await _status.SubmitTransactionAsync([.. actions, .. eventActions], cancellationToken);
        }
        catch (RequestFailedException ex)
        {
            var fate = TableEventFeed.Fate.Unknown;
            try
            {
                fate = await _feed.ResolveAsync(entry, fence: true, cancellationToken);
            }
            catch (RequestFailedException resolveFailed)
            {
                LogEntryUnsettled(resolveFailed, status.PartitionKey); // a reader fences it after EventFeedGrace
            }

            if (fate != TableEventFeed.Fate.Committed)
            {
                throw;
            }

            LogCommittedDespiteError(ex, status.PartitionKey);
            var now = await _status.GetEntityIfExistsAsync<TableEntity>(status.PartitionKey, StatusRow, cancellationToken: cancellationToken);
            return new Committed(now.HasValue && now.Value is { } row && TableEventRows.LastSequence(row) == entry.Last ? row.ETag : default, entry);
        }

        AfterStep?.Invoke(Step.Committed);
        try
        {
            await _feed.ConfirmAsync(entry, cancellationToken);
        }
        catch (RequestFailedException ex)
        {
            LogEntryUnsettled(ex, status.PartitionKey); // committed: a reader finds its event row and confirms it
        }

        return new Committed(response.Value[0].Headers.ETag ?? default, entry);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The event feed entry of a change of {MessageId} could not be settled now; a feed reader settles it")]
    private partial void LogEntryUnsettled(Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A change of {MessageId} had committed although its transaction answered with an error (a retried request); not applied again")]
    private partial void LogCommittedDespiteError(Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Idempotency key of owner {Owner} older than the retention was taken over by message {MessageId}")]
    private partial void LogIdempotencyKeyExpired(string owner, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Readiness check of Table storage failed")]
    private partial void LogNotReady(Exception exception);

    private async Task<TableEntity?> GetStatusEntityAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsValidKey(id))
        {
            return null;
        }

        await _created.EnsureAsync(cancellationToken);
        var response = await _status.GetEntityIfExistsAsync<TableEntity>(id, StatusRow, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    private async Task<(MessageRecord Record, ETag ETag, TableEntity Status)?> ReadAsync(string id, CancellationToken cancellationToken)
    {
        // Ids come from URLs: anything that is not a valid partition key cannot exist, and is never put into a query unescaped.
        if (!IsValidKey(id))
        {
            return null;
        }

        await _created.EnsureAsync(cancellationToken);
        TableEntity? status = null;
        var attempts = new List<DeliveryAttemptRecord>();
        // The status row and the attempts, not the event rows (read by TableMessageEventStore only).
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {id} and (RowKey eq {StatusRow} or (RowKey ge {AttemptRowPrefix} and RowKey lt {AttemptRowEnd}))");
        await foreach (var row in _status.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (row.RowKey == StatusRow)
            {
                status = row;
            }
            else if (row.RowKey.StartsWith(AttemptRowPrefix, StringComparison.Ordinal))
            {
                attempts.Add(ToAttempt(row));
            }
        }

        return status is null ? null : (FromEntity(status, attempts), status.ETag, status);
    }

    private static TableEntity ToEntity(MessageRecord record)
    {
        var entity = new TableEntity(record.Id, StatusRow)
        {
            ["Owner"] = record.Owner,
            ["State"] = record.State.ToString(),
            ["CreatedAt"] = record.CreatedAt,
            ["UpdatedAt"] = record.UpdatedAt,
            ["SendAt"] = record.SendAt,
            ["ExpiresAt"] = record.ExpiresAt,
            ["NextAttemptAt"] = record.NextAttemptAt,
            ["LastReply"] = Truncate(record.LastReply),
        };
        WriteChunks(entity, "Recipients", JsonSerializer.Serialize([.. record.Recipients], StatusJsonContext.Default.ListRecipientResult));
        WriteChunks(entity, "Tags", JsonSerializer.Serialize([.. record.Tags], StatusJsonContext.Default.ListString));
        WriteChunks(entity, "Metadata", JsonSerializer.Serialize(new Dictionary<string, string>(record.Metadata), StatusJsonContext.Default.DictionaryStringString));
        if (record.ContentReference is { } reference && record.Envelope is { } envelope)
        {
            entity["ContentReference"] = reference;
            entity["MailFrom"] = envelope.MailFrom;
            WriteChunks(entity, "EnvelopeRecipients", JsonSerializer.Serialize([.. envelope.Recipients], StatusJsonContext.Default.ListString));
        }

        return entity;
    }

    internal static MessageRecord FromEntity(TableEntity entity, List<DeliveryAttemptRecord> attempts) => new()
    {
        Id = entity.PartitionKey,
        Owner = entity.GetString("Owner") ?? "",
        State = Enum.Parse<MessageState>(entity.GetString("State") ?? nameof(MessageState.Queued)),
        CreatedAt = entity.GetDateTimeOffset("CreatedAt") ?? default,
        UpdatedAt = entity.GetDateTimeOffset("UpdatedAt") ?? default,
        SendAt = entity.GetDateTimeOffset("SendAt"),
        ExpiresAt = entity.GetDateTimeOffset("ExpiresAt"),
        NextAttemptAt = entity.GetDateTimeOffset("NextAttemptAt"),
        LastReply = entity.GetString("LastReply"),
        Attempts = [.. attempts.OrderBy(a => a.Number)],
        Recipients = ReadChunks(entity, "Recipients") is { } r ? JsonSerializer.Deserialize(r, StatusJsonContext.Default.ListRecipientResult) ?? [] : [],
        Tags = ReadChunks(entity, "Tags") is { } t ? JsonSerializer.Deserialize(t, StatusJsonContext.Default.ListString) ?? [] : [],
        Metadata = ReadChunks(entity, "Metadata") is { } m
            ? JsonSerializer.Deserialize(m, StatusJsonContext.Default.DictionaryStringString) ?? new Dictionary<string, string>()
            : new Dictionary<string, string>(),
        ContentReference = entity.GetString("ContentReference"),
        Envelope = entity.GetString("MailFrom") is { } mailFrom && ReadChunks(entity, "EnvelopeRecipients") is { } recipients
            ? new Envelope(mailFrom, JsonSerializer.Deserialize(recipients, StatusJsonContext.Default.ListString) ?? [])
            : null,
    };

    private static DeliveryAttemptRecord ToAttempt(TableEntity row) => new(
        row.GetInt32("Number") ?? 0,
        row.GetDateTimeOffset("StartedAt") ?? default,
        TimeSpan.FromTicks(row.GetInt64("DurationTicks") ?? 0),
        Enum.Parse<DeliveryOutcomeKind>(row.GetString("Outcome") ?? nameof(DeliveryOutcomeKind.Unknown)),
        row.GetInt32("Port"),
        row.GetString("TlsProtocol"),
        row.GetString("Reply"));

    private TableEntity IdempotencyEntity(IdempotencyClaim claim, string messageId)
    {
        // Keys and owners are caller text: hash them into a partition key instead of escaping them.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(claim.Owner + "\n" + claim.Key)));
        return new TableEntity(hash, "key")
        {
            ["Owner"] = claim.Owner,
            ["Key"] = claim.Key.Length <= MaxReplyChars ? claim.Key : claim.Key[..MaxReplyChars],
            ["MessageId"] = messageId,
            ["RequestHash"] = claim.RequestHash,
            ["CreatedAt"] = claim.CreatedAt == default ? _time.GetUtcNow() : claim.CreatedAt,
        };
    }

    private static string AttemptRowKey(int number) => AttemptRowPrefix + number.ToString("D5", CultureInfo.InvariantCulture);

    internal static void WriteChunks(TableEntity entity, string name, string json)
    {
        var count = 0;
        for (var offset = 0; offset < json.Length; offset += ChunkChars, count++)
        {
            entity[name + count.ToString(CultureInfo.InvariantCulture)] = json.Substring(offset, Math.Min(ChunkChars, json.Length - offset));
        }

        entity[name + "Chunks"] = count;
    }

    private static void RemoveChunks(TableEntity entity, string name)
    {
        var count = entity.GetInt32(name + "Chunks") ?? 0;
        for (var i = 0; i < count; i++)
        {
            entity.Remove(name + i.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void Set(TableEntity entity, string name, object? value)
    {
        if (value is null)
        {
            entity.Remove(name);
        }
        else
        {
            entity[name] = value;
        }
    }

    internal static string? ReadChunks(TableEntity entity, string name)
    {
        var count = entity.GetInt32(name + "Chunks") ?? 0;
        if (count == 0)
        {
            return null;
        }

        var builder = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            builder.Append(entity.GetString(name + i.ToString(CultureInfo.InvariantCulture)));
        }

        return builder.ToString();
    }

    private static string? Truncate(string? value) => value is null || value.Length <= MaxReplyChars ? value : value[..MaxReplyChars];

    // Table keys may not contain '/', '\', '#', '?' or control characters, and are at most 1 KiB.
    internal static bool IsValidKey(string? key) =>
        !string.IsNullOrEmpty(key) && key.Length <= 512 && !key.Any(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c));
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(List<RecipientResult>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(StoredEvent))]
[JsonSerializable(typeof(List<StoredEvent>))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
