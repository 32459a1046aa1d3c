using System.Collections.Concurrent;
using MailGateway.Core.Delivery;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;

namespace MailGateway.Bench;

/// <summary>
/// A status store in memory, for the part of the Service Bus benchmark that measures the adapter without Table storage:
/// the operations the delivery handler uses, with the same state rule (a final record is never moved to sending).
/// </summary>
internal sealed class MemoryStatusStore(TimeProvider time) : IMessageStatusStore
{
    private readonly ConcurrentDictionary<string, MessageRecord> _records = new(StringComparer.Ordinal);

    public int Count(MessageState state) => _records.Values.Count(r => r.State == state);

    public Task<CreateMessageResult> CreateAsync(MessageRecord record, IdempotencyClaim? idempotency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!_records.TryAdd(record.Id, record))
        {
            throw new InvalidOperationException($"A message with id {record.Id} already exists.");
        }

        return Task.FromResult(new CreateMessageResult(true, record.Id, ""));
    }

    public Task<MessageRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(_records.TryGetValue(id, out var record) ? record : null);

    public Task<MessageRecord?> TryBeginSendingAsync(string id, CancellationToken cancellationToken)
    {
        while (_records.TryGetValue(id, out var before))
        {
            if (before.State.IsFinal())
            {
                return Task.FromResult<MessageRecord?>(before);
            }

            if (_records.TryUpdate(id, before with { State = MessageState.Sending, UpdatedAt = time.GetUtcNow() }, before))
            {
                return Task.FromResult<MessageRecord?>(before);
            }
        }

        return Task.FromResult<MessageRecord?>(null);
    }

    public Task RecordAttemptAsync(string id, DeliveryAttemptRecord attempt, MessageState newState, IReadOnlyList<RecipientResult> recipients, DateTimeOffset? nextAttemptAt, string? lastReply, CancellationToken cancellationToken)
    {
        Update(id, r => r with
        {
            State = newState,
            UpdatedAt = time.GetUtcNow(),
            Attempts = [.. r.Attempts, attempt],
            Recipients = recipients,
            NextAttemptAt = nextAttemptAt,
            LastReply = lastReply,
        });
        return Task.CompletedTask;
    }

    public Task SetStateAsync(string id, MessageState state, string? lastReply, CancellationToken cancellationToken)
    {
        Update(id, r => r with { State = state, UpdatedAt = time.GetUtcNow(), LastReply = lastReply });
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        _records.TryRemove(id, out _);
        return Task.CompletedTask;
    }

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    private void Update(string id, Func<MessageRecord, MessageRecord> change)
    {
        while (true)
        {
            if (!_records.TryGetValue(id, out var before))
            {
                throw new InvalidOperationException($"No status record for {id}.");
            }

            if (_records.TryUpdate(id, change(before), before))
            {
                return;
            }
        }
    }
}

/// <summary>Message content in memory (the bytes handed out as a readable buffer, as the SQLite store does).</summary>
internal sealed class MemoryContentStore : IMessageContentStore
{
    private readonly ConcurrentDictionary<string, byte[]> _content = new(StringComparer.Ordinal);

    public Task<string> SaveAsync(string messageId, ReadOnlyMemory<byte> mime, CancellationToken cancellationToken)
    {
        var reference = messageId + ".eml";
        _content[reference] = mime.ToArray();
        return Task.FromResult(reference);
    }

    public Task<Stream> OpenReadAsync(string reference, CancellationToken cancellationToken) =>
        _content.TryGetValue(reference, out var bytes)
            ? Task.FromResult<Stream>(new MemoryStream(bytes, 0, bytes.Length, writable: false, publiclyVisible: true))
            : Task.FromException<Stream>(new MessageContentNotFoundException($"No content {reference}."));

    public Task DeleteAsync(string reference, CancellationToken cancellationToken)
    {
        _content.TryRemove(reference, out _);
        return Task.CompletedTask;
    }

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);
}
