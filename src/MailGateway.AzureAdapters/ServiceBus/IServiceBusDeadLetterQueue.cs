using Azure.Messaging.ServiceBus;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>
/// The dead-letter sub-queue of the delivery queue, and a sender to the queue on the same connection: a seam over a
/// <see cref="ServiceBusReceiver"/> (<see cref="SubQueue.DeadLetter"/>, peek-lock) and a <see cref="ServiceBusSender"/>
/// so that tests drive the dead-letter store against an in-memory broker. Settlements and sends enlist in an ambient
/// transaction.
/// </summary>
public interface IServiceBusDeadLetterQueue
{
    /// <summary>Up to <paramref name="maxMessages"/> messages from <paramref name="fromSequenceNumber"/> on, in order, active and deferred; no lock taken.</summary>
    Task<IReadOnlyList<ServiceBusReceivedMessage>> PeekAsync(long fromSequenceNumber, int maxMessages, CancellationToken cancellationToken);

    /// <summary>Locks up to <paramref name="maxMessages"/> active (not deferred, not locked) messages from the head; empty when there are none.</summary>
    Task<IReadOnlyList<ServiceBusReceivedMessage>> ReceiveAsync(int maxMessages, CancellationToken cancellationToken);

    /// <summary>Locks the deferred message <paramref name="sequenceNumber"/>; null when it is not deferred, is locked by another receiver, or is gone.</summary>
    Task<ServiceBusReceivedMessage?> ReceiveDeferredAsync(long sequenceNumber, CancellationToken cancellationToken);

    /// <summary>Defers a locked message (it stays, reachable by its sequence number) and releases the lock.</summary>
    Task DeferAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken);

    /// <summary>Releases the lock of a message without changing its state.</summary>
    Task AbandonAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken);

    /// <summary>Removes a locked message; enlists in an ambient transaction. A lost lock is a <see cref="ServiceBusException"/> (MessageLockLost).</summary>
    Task CompleteAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken);

    /// <summary>Sends (or schedules) a message to the delivery queue; enlists in an ambient transaction.</summary>
    Task SendAsync(ServiceBusMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// The real sub-queue, on its own <see cref="ServiceBusClient"/> with
/// <see cref="ServiceBusClientOptions.EnableCrossEntityTransactions"/>: the dead-letter sub-queue is the first entity
/// this client touches (every path starts with a peek or a receive there), so the send to the queue is routed through
/// it and a replay's complete + send commit together or not at all.
/// </summary>
internal sealed class ServiceBusDeadLetterQueue(ServiceBusClient client, string queueName, TimeSpan receiveWait) : IServiceBusDeadLetterQueue, IAsyncDisposable
{
    private readonly ServiceBusReceiver _receiver = client.CreateReceiver(queueName, new ServiceBusReceiverOptions
    {
        SubQueue = SubQueue.DeadLetter,
        ReceiveMode = ServiceBusReceiveMode.PeekLock,
        PrefetchCount = 0,
    });

    private readonly ServiceBusSender _sender = client.CreateSender(queueName);

    public Task<IReadOnlyList<ServiceBusReceivedMessage>> PeekAsync(long fromSequenceNumber, int maxMessages, CancellationToken cancellationToken) =>
        _receiver.PeekMessagesAsync(maxMessages, fromSequenceNumber, cancellationToken);

    public Task<IReadOnlyList<ServiceBusReceivedMessage>> ReceiveAsync(int maxMessages, CancellationToken cancellationToken) =>
        _receiver.ReceiveMessagesAsync(maxMessages, receiveWait, cancellationToken);

    public async Task<ServiceBusReceivedMessage?> ReceiveDeferredAsync(long sequenceNumber, CancellationToken cancellationToken)
    {
        try
        {
            return await _receiver.ReceiveDeferredMessageAsync(sequenceNumber, cancellationToken);
        }
        catch (ServiceBusException ex) when (ex.Reason is ServiceBusFailureReason.MessageNotFound or ServiceBusFailureReason.MessageLockLost)
        {
            // "Failed to lock one or more specified messages. Either the message is already locked or does not exist."
            return null;
        }
    }

    public Task DeferAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken) =>
        _receiver.DeferMessageAsync(message, cancellationToken: cancellationToken);

    public Task AbandonAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken) =>
        _receiver.AbandonMessageAsync(message, cancellationToken: cancellationToken);

    public Task CompleteAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken) =>
        _receiver.CompleteMessageAsync(message, cancellationToken);

    public Task SendAsync(ServiceBusMessage message, CancellationToken cancellationToken) =>
        _sender.SendMessageAsync(message, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _sender.DisposeAsync();
    }
}
