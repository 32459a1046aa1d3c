using System.Transactions;
using Azure.Messaging.ServiceBus;
using MailGateway.Core.Queue;
using Microsoft.Extensions.Logging;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>
/// One received job and its settlement on Service Bus. A lost lock is never an error for the caller: the job is
/// simply not settled, Service Bus hands it out again, and the status ledger makes that redelivery safe.
/// </summary>
public sealed partial class ServiceBusDeliveryJobContext : IDeliveryJobContext
{
    private readonly ProcessMessageEventArgs _args;
    private readonly IServiceBusJobSender _sender;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Creates the context for a job already read from <paramref name="args"/> (dead letters stamped with the system clock).</summary>
    public ServiceBusDeliveryJobContext(DeliveryJob job, ProcessMessageEventArgs args, IServiceBusJobSender sender, ILogger logger)
        : this(job, args, sender, logger, TimeProvider.System)
    {
    }

    /// <summary>Creates the context for a job already read from <paramref name="args"/>; a dead letter is stamped with <paramref name="time"/>.</summary>
    public ServiceBusDeliveryJobContext(DeliveryJob job, ProcessMessageEventArgs args, IServiceBusJobSender sender, ILogger logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(args);
        Job = job;
        _args = args;
        _sender = sender;
        _logger = logger;
        _time = time;

        // Raised when automatic lock renewal fails: the lock is gone, settling would only fail.
        args.MessageLockLostAsync += OnLockLostAsync;
    }

    /// <summary>True once Service Bus reported the lock of this message lost.</summary>
    public bool LockLost { get; private set; }

    /// <inheritdoc />
    public DeliveryJob Job { get; }

    /// <inheritdoc />
    public int DeliveryCount => _args.Message.DeliveryCount;

    /// <summary>How this context was settled (null while it is not).</summary>
    public SettlementKind? Settlement { get; private set; }

    /// <inheritdoc />
    public Task CompleteAsync(CancellationToken cancellationToken) =>
        SettleAsync(SettlementKind.Completed, ct => _args.CompleteMessageAsync(_args.Message, ct), cancellationToken);

    /// <inheritdoc />
    public Task RescheduleAsync(DeliveryJob next, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        var copy = DeliveryJobMessages.Create(next, notBefore);
        return SettleAsync(SettlementKind.Rescheduled, async ct =>
        {
            // Abandon is not a backoff (it redelivers at once): send a scheduled copy and complete the original, in
            // one Service Bus transaction, so a crash in between neither loses the job nor duplicates it.
            using var scope = new TransactionScope(TransactionScopeOption.Required, TransactionScopeAsyncFlowOption.Enabled);
            await _sender.SendAsync(copy, ct);
            await _args.CompleteMessageAsync(_args.Message, ct);
            scope.Complete();
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task DeadLetterAsync(string reason, string description, CancellationToken cancellationToken) =>
        SettleAsync(
            SettlementKind.DeadLettered,
            // Stamped with when and after how many deliveries: the dead-letter store lists by that time, and a receive
            // from the dead-letter sub-queue counts as a delivery of its own.
            ct => _args.DeadLetterMessageAsync(
                _args.Message, DeliveryJobMessages.DeadLetterProperties(_time.GetUtcNow(), _args.Message.DeliveryCount),
                Truncate(reason, 4096), Truncate(description, 4096), ct),
            cancellationToken);

    /// <summary>Dead-letters a message that is not a readable job (no <see cref="DeliveryJob"/> exists for it).</summary>
    internal static async Task<SettlementKind> DeadLetterUnreadableAsync(
        ProcessMessageEventArgs args, string reason, string description, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await args.DeadLetterMessageAsync(
                args.Message, DeliveryJobMessages.DeadLetterProperties(time.GetUtcNow(), args.Message.DeliveryCount),
                reason, Truncate(description, 4096), cancellationToken);
            return SettlementKind.DeadLettered;
        }
        catch (ServiceBusException ex) when (ex.Reason == ServiceBusFailureReason.MessageLockLost)
        {
            return SettlementKind.LockLost;
        }
    }

    private async Task SettleAsync(SettlementKind kind, Func<CancellationToken, Task> settle, CancellationToken cancellationToken)
    {
        if (Settlement is not null)
        {
            throw new InvalidOperationException($"The job {Job.MessageId} is already settled ({Settlement}).");
        }

        if (LockLost)
        {
            Settlement = SettlementKind.LockLost;
            LogLockLostBeforeSettlement(Job.MessageId, kind);
            return;
        }

        try
        {
            await settle(cancellationToken);
            Settlement = kind;
        }
        catch (ServiceBusException ex) when (ex.Reason == ServiceBusFailureReason.MessageLockLost)
        {
            Settlement = SettlementKind.LockLost;
            LogLockLostBeforeSettlement(Job.MessageId, kind);
        }
    }

    private Task OnLockLostAsync(MessageLockLostEventArgs e)
    {
        LockLost = true;
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lock lost for job {MessageId} before {Settlement}: not settled; Service Bus will redeliver it")]
    private partial void LogLockLostBeforeSettlement(string messageId, SettlementKind settlement);

    // Service Bus caps the dead-letter reason and description (4 KB each with the other properties): an SMTP reply
    // can be long, and a too-large settlement fails instead of dead-lettering.
    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}

/// <summary>How a Service Bus job was settled.</summary>
public enum SettlementKind
{
    /// <summary>Completed (removed).</summary>
    Completed,

    /// <summary>A scheduled copy was sent and the original completed.</summary>
    Rescheduled,

    /// <summary>Moved to the dead-letter sub-queue.</summary>
    DeadLettered,

    /// <summary>The lock was lost: not settled; Service Bus redelivers the job.</summary>
    LockLost,
}
