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
public sealed class ServiceBusJobDispatcher(IDeliveryJobHandler handler, IServiceBusJobSender sender, ILogger<ServiceBusJobDispatcher> logger)
{
    /// <summary>The dead-letter reason of a message that is not a job.</summary>
    public const string MalformedJobReason = "MalformedJob";

    /// <summary>
    /// Handles <paramref name="args"/>. <paramref name="cancellationToken"/> is the worker's abort signal, not the
    /// processor's: stopping the processor must let in-flight deliveries finish.
    /// </summary>
    /// <returns>How the message was settled, or null when it was left unsettled.</returns>
    public async Task<SettlementKind?> DispatchAsync(ProcessMessageEventArgs args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        DeliveryJob job;
        try
        {
            job = DeliveryJobSerializer.Deserialize(args.Message.Body);
        }
        catch (MalformedDeliveryJobException ex)
        {
            AzureLog.MalformedJob(logger, args.Message.MessageId, args.Message.DeliveryCount, ex.Message);
            return await ServiceBusDeliveryJobContext.DeadLetterUnreadableAsync(args, MalformedJobReason, ex.Message, logger, cancellationToken);
        }

        var context = new ServiceBusDeliveryJobContext(job, args, sender, logger);
        try
        {
            await handler.HandleAsync(context, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            AzureLog.AbortedUnsettled(logger, job.MessageId);
        }
#pragma warning disable CA1031 // Any handler failure must leave the message for a later redelivery, not crash the pump.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            AzureLog.HandlerFailed(logger, ex, job.MessageId, args.Message.DeliveryCount);
        }

        if (context.Settlement is null)
        {
            AzureLog.LeftUnsettled(logger, job.MessageId, args.Message.DeliveryCount);
        }

        return context.Settlement;
    }
}
