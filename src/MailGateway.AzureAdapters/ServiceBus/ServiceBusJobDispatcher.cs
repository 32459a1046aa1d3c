using System.Diagnostics.Metrics;
using Azure.Messaging.ServiceBus;
using MailGateway.Core.Queue;
using Microsoft.Extensions.Logging;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>
/// Turns one received Service Bus message into a call of the host-agnostic <see cref="IDeliveryJobHandler"/>.
/// A message that is not a readable job is dead-lettered (<see cref="DeadLetterReasons.MalformedJob"/>) at its first
/// delivery; the processor's other messages go on. An unexpected failure of the handler leaves the message unsettled,
/// so it comes back when its lock expires (a natural pause, unlike abandon) and the handler dead-letters it after
/// <see cref="DeliveryWorkerOptions.MaxDeliveryCount"/> deliveries.
/// </summary>
public sealed partial class ServiceBusJobDispatcher
{
    /// <summary>The meter of the Service Bus worker.</summary>
    public const string MeterName = "MailGateway.ServiceBus";

    /// <summary>Counts handled jobs, tagged <c>settlement</c> = Completed | Rescheduled | DeadLettered | LockLost | Unsettled.</summary>
    public const string JobsCounterName = "mailgateway.servicebus.jobs";

    private readonly IDeliveryJobHandler _handler;
    private readonly IServiceBusJobSender _sender;
    private readonly ILogger<ServiceBusJobDispatcher> _logger;
    private readonly Counter<long> _jobs;
    private readonly TimeProvider _time;

    /// <summary>Creates the dispatcher; it counts jobs by settlement, and stamps dead letters with the system clock.</summary>
    public ServiceBusJobDispatcher(IDeliveryJobHandler handler, IServiceBusJobSender sender, ILogger<ServiceBusJobDispatcher> logger, IMeterFactory meterFactory)
        : this(handler, sender, logger, meterFactory, TimeProvider.System)
    {
    }

    /// <summary>Creates the dispatcher; it counts jobs by settlement, and stamps dead letters with <paramref name="time"/>.</summary>
    public ServiceBusJobDispatcher(IDeliveryJobHandler handler, IServiceBusJobSender sender, ILogger<ServiceBusJobDispatcher> logger, IMeterFactory meterFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _handler = handler;
        _sender = sender;
        _logger = logger;
        _time = time;
        _jobs = meterFactory.Create(MeterName).CreateCounter<long>(JobsCounterName, "{job}", "Delivery jobs handled, by settlement");
    }

    /// <summary>
    /// Handles <paramref name="args"/> and counts the result. <paramref name="cancellationToken"/> is the worker's
    /// abort signal, not the processor's: stopping the processor must let in-flight deliveries finish.
    /// </summary>
    /// <returns>How the message was settled, or null when it was left unsettled.</returns>
    public async Task<SettlementKind?> DispatchAsync(ProcessMessageEventArgs args, CancellationToken cancellationToken)
    {
        var settlement = await DispatchCoreAsync(args, cancellationToken);
        _jobs.Add(1, new KeyValuePair<string, object?>("settlement", settlement?.ToString() ?? "Unsettled"));
        return settlement;
    }

    /// <summary>
    /// The job of a received message and its settlement, or — for a message that is not a readable job — null, after
    /// dead-lettering it with <see cref="DeadLetterReasons.MalformedJob"/> (<paramref name="deadLettered"/> says how).
    /// </summary>
    public async Task<(ServiceBusDeliveryJobContext? Context, SettlementKind? DeadLettered)> OpenAsync(ProcessMessageEventArgs args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        DeliveryJob job;
        try
        {
            job = DeliveryJobMessages.Read(args.Message);
        }
        catch (MalformedDeliveryJobException ex)
        {
            LogMalformedJob(args.Message.MessageId, args.Message.DeliveryCount, ex.Message);
            var settled = await ServiceBusDeliveryJobContext.DeadLetterUnreadableAsync(args, DeadLetterReasons.MalformedJob, ex.Message, _time, cancellationToken);
            if (settled == SettlementKind.LockLost)
            {
                LogLockLost(args.Message.MessageId);
            }

            return (null, settled);
        }

        return (new ServiceBusDeliveryJobContext(job, args, _sender, _logger, _time), null);
    }

    private async Task<SettlementKind?> DispatchCoreAsync(ProcessMessageEventArgs args, CancellationToken cancellationToken)
    {
        var (context, deadLettered) = await OpenAsync(args, cancellationToken);
        if (context is null)
        {
            return deadLettered;
        }

        var job = context.Job;
        try
        {
            await _handler.HandleAsync(context, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogAbortedUnsettled(job.MessageId);
        }
#pragma warning disable CA1031 // Any handler failure must leave the message for a later redelivery, not crash the pump.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogHandlerFailed(ex, job.MessageId, args.Message.DeliveryCount);
        }

        if (context.Settlement is null)
        {
            LogLeftUnsettled(job.MessageId, args.Message.DeliveryCount);
        }

        return context.Settlement;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Malformed delivery job (Service Bus MessageId {ServiceBusMessageId}, delivery {DeliveryCount}): {Problem}; dead-lettering it")]
    private partial void LogMalformedJob(string? serviceBusMessageId, int deliveryCount, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lock lost for malformed message {ServiceBusMessageId} before it was dead-lettered; Service Bus will redeliver it")]
    private partial void LogLockLost(string? serviceBusMessageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling job {MessageId} failed (delivery {DeliveryCount}); left for redelivery after its lock expires")]
    private partial void LogHandlerFailed(Exception exception, string messageId, int deliveryCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {MessageId} aborted by shutdown; left for redelivery")]
    private partial void LogAbortedUnsettled(string messageId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {MessageId} left unsettled (delivery {DeliveryCount})")]
    private partial void LogLeftUnsettled(string messageId, int deliveryCount);
}
