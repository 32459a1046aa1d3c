using Azure.Messaging.ServiceBus;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>Sends messages to the delivery queue. A seam over <see cref="ServiceBusSender"/> so tests see exactly what is sent.</summary>
public interface IServiceBusJobSender
{
    /// <summary>Sends (or, with <see cref="ServiceBusMessage.ScheduledEnqueueTime"/> set, schedules) one message; enlists in an ambient transaction.</summary>
    Task SendAsync(ServiceBusMessage message, CancellationToken cancellationToken);

    /// <summary>True when the namespace answers (readiness probe).</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}

/// <summary>The real sender: one <see cref="ServiceBusSender"/> for the queue, from the shared <see cref="ServiceBusClient"/>.</summary>
internal sealed class ServiceBusJobSender(ServiceBusSender sender) : IServiceBusJobSender
{
    public Task SendAsync(ServiceBusMessage message, CancellationToken cancellationToken) =>
        sender.SendMessageAsync(message, cancellationToken);

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        // Creating a batch opens the send link (namespace reachable, identity authorised to send) and sends nothing.
        // Only Send rights are needed (a peek would need Listen, which only the API's dead-letter routes use).
        try
        {
            using var batch = await sender.CreateMessageBatchAsync(cancellationToken);
            return true;
        }
        catch (ServiceBusException)
        {
            return false;
        }
        catch (Azure.Identity.AuthenticationFailedException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
