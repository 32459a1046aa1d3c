using Azure.Messaging.ServiceBus;
using MailGateway.Core.Queue;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>The receiving pump of the delivery queue. A seam over <see cref="ServiceBusProcessor"/> for the worker host.</summary>
public interface IDeliveryJobProcessor : IAsyncDisposable
{
    /// <summary>True while the processor is receiving.</summary>
    bool IsProcessing { get; }

    /// <summary>Starts receiving; every message goes to <paramref name="onMessage"/>, every receive error to <paramref name="onError"/>.</summary>
    Task StartAsync(Func<ProcessMessageEventArgs, Task> onMessage, Func<ProcessErrorEventArgs, Task> onError, CancellationToken cancellationToken);

    /// <summary>Stops receiving and waits for the in-flight handlers to return.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>The real pump: a <see cref="ServiceBusProcessor"/> with manual settlement.</summary>
internal sealed class ServiceBusDeliveryJobProcessor(
    ServiceBusClient client,
    IOptions<ServiceBusQueueOptions> queue,
    IOptions<DeliveryWorkerOptions> worker,
    IOptions<ServiceBusWorkerOptions> serviceBus) : IDeliveryJobProcessor
{
    private ServiceBusProcessor? _processor;

    public bool IsProcessing => _processor?.IsProcessing == true;

    /// <summary>The processor options the worker runs with (manual settlement, long lock renewal).</summary>
    public static ServiceBusProcessorOptions CreateProcessorOptions(DeliveryWorkerOptions worker, ServiceBusWorkerOptions serviceBus) => new()
    {
        AutoCompleteMessages = false,
        ReceiveMode = ServiceBusReceiveMode.PeekLock,
        MaxConcurrentCalls = worker.Concurrency,
        MaxAutoLockRenewalDuration = serviceBus.MaxAutoLockRenewalDuration,
        PrefetchCount = serviceBus.PrefetchCount,
    };

    public async Task StartAsync(Func<ProcessMessageEventArgs, Task> onMessage, Func<ProcessErrorEventArgs, Task> onError, CancellationToken cancellationToken)
    {
        if (_processor is not null)
        {
            throw new InvalidOperationException("The processor is already started.");
        }

        _processor = client.CreateProcessor(queue.Value.QueueName, CreateProcessorOptions(worker.Value, serviceBus.Value));
        _processor.ProcessMessageAsync += onMessage;
        _processor.ProcessErrorAsync += onError;
        await _processor.StartProcessingAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) =>
        _processor is null ? Task.CompletedTask : _processor.StopProcessingAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_processor is not null)
        {
            await _processor.DisposeAsync();
        }
    }
}
