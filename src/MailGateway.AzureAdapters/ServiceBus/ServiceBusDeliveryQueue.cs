using MailGateway.Core.Queue;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>
/// <see cref="IDeliveryQueue"/> on a Service Bus queue. The message carries only the job (claim check: the MIME is in
/// Blob storage). A future <c>notBefore</c> becomes <c>ScheduledEnqueueTime</c>.
/// </summary>
public sealed class ServiceBusDeliveryQueue(IServiceBusJobSender sender) : IDeliveryQueue
{
    /// <inheritdoc />
    public Task EnqueueAsync(DeliveryJob job, DateTimeOffset? notBefore, CancellationToken cancellationToken) =>
        sender.SendAsync(DeliveryJobMessages.Create(job, notBefore), cancellationToken);

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => sender.IsReadyAsync(cancellationToken);
}
