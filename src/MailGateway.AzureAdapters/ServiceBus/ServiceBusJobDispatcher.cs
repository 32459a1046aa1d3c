using System.Diagnostics.Metrics;
using Azure.Messaging.ServiceBus;
using MailGateway.Core.Queue;
using Microsoft.Extensions.Logging;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>
/// Turns one received Service Bus message into a call of the host-agnostic <see cref="IDeliveryJobHandler"/>.
/// A message that is not a readable job is dead-lettered at once; an unexpected failure of the handler leaves the
/// message unsettled, so it comes back when its lock expires (a natural pause, unlike abandon) and Service Bus
/// dead-letters it after MaxDeliveryCount.
/// </summary>
public sealed class ServiceBusJobDispatcher
{
    /// <summary>The dead-letter reason of a message that is not a job.</summary>
    public const string MalformedJobReason = "MalformedJob";

    /// <summary>The meter of the Service Bus worker.</summary>
    public const string MeterName = "MailGateway.ServiceBus";

    /// <summary>Counts handled jobs, tagged <c>settlement</c> = Completed | Rescheduled | DeadLettered | LockLost | Unsettled.</summary>
    public const string JobsCounterName = "mailgateway.servicebus.jobs";

    private readonly IDeliveryJobHandler _handler;
    private readonly IServiceBusJobSender _sender;
    private readonly ILogger<ServiceBusJobDispatcher> _logger;
    private readonly Counter<long>? _jobs;

    /// <summary>Creates the dispatcher; with a meter factory it counts jobs by settlement.</summary>
    public ServiceBusJobDispatcher(IDeliveryJobHandler handler, IServiceBusJobSender sender, ILogger<ServiceBusJobDispatcher> logger, IMeterFactory? meterFactory = null)
    {
        _handler = handler;
        _sender = sender;
        _logger = logger;
        _jobs = meterFactory?.Create(MeterName).CreateCounter<long>(JobsCounterName, "{job}", "Delivery jobs handled, by settlement");
    }

    /// <summary>
    /// Handles <paramref name="args"/> and counts the result. <paramref name="cancellationToken"/> is the worker's
    /// abort signal, not the processor's: stopping the processor must let in-flight deliveries finish.
    /// </summary>
    /// <returns>How the message was settled, or null when it was left unsettled.</returns>
    public async Task<SettlementKind?> DispatchAsync(ProcessMessageEventArgs args, CancellationToken cancellationToken)
    {
        var settlement = await DispatchCoreAsync(args, cancellationToken);
        _jobs?.Add(1, new KeyValuePair<string, object?>("settlement", settlement?.ToString() ?? "Unsettled"));
        return settlement;
    }

    private async Task<SettlementKind?> DispatchCoreAsync(ProcessMessageEventArgs args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        DeliveryJob job;
        try
        {
            job = DeliveryJobSerializer.Deserialize(args.Message.Body);
        }
        catch (MalformedDeliveryJobException ex)
        {
            AzureLog.MalformedJob(_logger, args.Message.MessageId, args.Message.DeliveryCount, ex.Message);
            return await ServiceBusDeliveryJobContext.DeadLetterUnreadableAsync(args, MalformedJobReason, ex.Message, _logger, cancellationToken);
        }

        var context = new ServiceBusDeliveryJobContext(job, args, _sender, _logger);
        try
        {
            await _handler.HandleAsync(context, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            AzureLog.AbortedUnsettled(_logger, job.MessageId);
        }
#pragma warning disable CA1031 // Any handler failure must leave the message for a later redelivery, not crash the pump.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            AzureLog.HandlerFailed(_logger, ex, job.MessageId, args.Message.DeliveryCount);
        }

        if (context.Settlement is null)
        {
            AzureLog.LeftUnsettled(_logger, job.MessageId, args.Message.DeliveryCount);
        }

        return context.Settlement;
    }
}
