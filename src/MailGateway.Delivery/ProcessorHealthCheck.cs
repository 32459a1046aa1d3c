using MailGateway.ServiceDefaults.Health;

namespace MailGateway.Delivery;

/// <summary>Readiness of the worker itself, check <c>processor</c>: the Service Bus processor is receiving.</summary>
internal sealed class ProcessorHealthCheck(ServiceBusDeliveryWorker worker) : ProbeHealthCheck
{
    protected override Task<bool> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(worker.IsProcessing);
}
