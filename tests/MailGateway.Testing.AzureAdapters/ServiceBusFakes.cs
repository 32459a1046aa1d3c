using System.Transactions;
using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;

namespace MailGateway.Testing.AzureAdapters;

/// <summary>What a fake saw, with the ambient transaction it ran in.</summary>
public sealed record Settled(string Action, string? Reason, string? Description, string? TransactionId);

/// <summary>Records every message sent or scheduled, and how each enclosing transaction ended.</summary>
public sealed class RecordingSender : IServiceBusJobSender
{
    public List<(ServiceBusMessage Message, string? TransactionId)> Sent { get; } = [];

    public List<TransactionStatus> TransactionOutcomes { get; } = [];

    public Exception? FailWith { get; set; }

    public bool Ready { get; set; } = true;

    public Task SendAsync(ServiceBusMessage message, CancellationToken cancellationToken)
    {
        if (FailWith is not null)
        {
            throw FailWith;
        }

        var tx = Transaction.Current;
        if (tx is not null)
        {
            tx.TransactionCompleted += (_, e) => TransactionOutcomes.Add(e.Transaction!.TransactionInformation.Status);
        }

        Sent.Add((message, tx?.TransactionInformation.LocalIdentifier));
        return Task.CompletedTask;
    }

    /// <summary>Makes the readiness probe hang until it is cancelled (an unreachable namespace with SDK retries).</summary>
    public bool HangOnReady { get; set; }

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        if (HangOnReady)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }

        return Ready;
    }
}

/// <summary>The SDK's own seam: a <see cref="ProcessMessageEventArgs"/> built with its public constructor, settlement overridden.</summary>
public sealed class RecordingArgs(ServiceBusReceivedMessage message) : ProcessMessageEventArgs(message, new NoReceiver(), CancellationToken.None)
{
    public List<Settled> Settlements { get; } = [];

    public Exception? FailWith { get; set; }

    public override Task CompleteMessageAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken = default) =>
        Record(new Settled("complete", null, null, Transaction.Current?.TransactionInformation.LocalIdentifier));

    public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, string deadLetterReason, string? deadLetterErrorDescription = null, CancellationToken cancellationToken = default) =>
        Record(new Settled("dead-letter", deadLetterReason, deadLetterErrorDescription, Transaction.Current?.TransactionInformation.LocalIdentifier));

    /// <summary>The properties the last dead-lettering stamped on the message.</summary>
    public IDictionary<string, object>? DeadLetterProperties { get; private set; }

    public override Task DeadLetterMessageAsync(
        ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify, string deadLetterReason,
        string? deadLetterErrorDescription = null, CancellationToken cancellationToken = default)
    {
        DeadLetterProperties = propertiesToModify;
        return Record(new Settled("dead-letter", deadLetterReason, deadLetterErrorDescription, Transaction.Current?.TransactionInformation.LocalIdentifier));
    }

    public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify = null, CancellationToken cancellationToken = default) =>
        Record(new Settled("dead-letter-properties", null, null, null));

    public override Task AbandonMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify = null, CancellationToken cancellationToken = default) =>
        Record(new Settled("abandon", null, null, null));

    public override Task DeferMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify = null, CancellationToken cancellationToken = default) =>
        Record(new Settled("defer", null, null, null));

    /// <summary>What the processor does when automatic lock renewal fails.</summary>
    public Task RaiseLockLostAsync() =>
        OnMessageLockLostAsync(new MessageLockLostEventArgs(Message, new ServiceBusException("lock lost", ServiceBusFailureReason.MessageLockLost)));

    private Task Record(Settled settled)
    {
        if (FailWith is not null)
        {
            throw FailWith;
        }

        Settlements.Add(settled);
        return Task.CompletedTask;
    }

    private sealed class NoReceiver : ServiceBusReceiver;
}

/// <summary>A handler that does what the test says with the context.</summary>
public sealed class DelegateHandler(Func<IDeliveryJobContext, CancellationToken, Task> handle) : IDeliveryJobHandler
{
    public int Calls { get; private set; }

    public Task HandleAsync(IDeliveryJobContext context, CancellationToken cancellationToken)
    {
        Calls++;
        return handle(context, cancellationToken);
    }
}

/// <summary>Jobs and received messages for the Service Bus tests.</summary>
public static class Jobs
{
    public static readonly DateTimeOffset FirstSeen = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    public static DeliveryJob Job(string id = "01JABCDEF", int attempt = 1) => new()
    {
        MessageId = id,
        ContentReference = "2026/11/28/0123456789abcdef0123456789abcdef.eml",
        MailFrom = "app@example.com",
        Recipients = ["b@example.net", "c@example.org"],
        Attempt = attempt,
        FirstSeen = FirstSeen,
        ExpiresAt = FirstSeen.AddDays(2),
    };

    /// <summary>A received message as Service Bus would hand it out (SDK model factory).</summary>
    public static ServiceBusReceivedMessage Received(BinaryData body, string messageId = "01JABCDEF", int deliveryCount = 1) =>
        ServiceBusModelFactory.ServiceBusReceivedMessage(
            body: body,
            messageId: messageId,
            contentType: DeliveryJobSerializer.ContentType,
            deliveryCount: deliveryCount,
            lockTokenGuid: Guid.NewGuid(),
            sequenceNumber: 42,
            enqueuedTime: FirstSeen);

    /// <summary>The message Service Bus would hand out for <paramref name="job"/> as the adapter sent it (body and application properties).</summary>
    public static ServiceBusReceivedMessage Received(DeliveryJob job, int deliveryCount = 1)
    {
        var sent = DeliveryJobMessages.Create(job, null);
        return ServiceBusModelFactory.ServiceBusReceivedMessage(
            body: sent.Body,
            messageId: sent.MessageId,
            correlationId: sent.CorrelationId,
            contentType: sent.ContentType,
            properties: sent.ApplicationProperties,
            deliveryCount: deliveryCount,
            lockTokenGuid: Guid.NewGuid(),
            sequenceNumber: 42,
            enqueuedTime: FirstSeen);
    }
}
