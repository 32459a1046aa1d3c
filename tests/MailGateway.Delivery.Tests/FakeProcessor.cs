using System.Collections.Concurrent;
using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;

namespace MailGateway.Delivery.Tests;

/// <summary>Stands for ServiceBusProcessor: hands messages to the registered handler; stopping waits for in-flight handlers, as the SDK's does.</summary>
internal sealed class FakeProcessor : IDeliveryJobProcessor
{
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private Func<ProcessMessageEventArgs, Task>? _onMessage;

    public bool IsProcessing { get; private set; }

    public Func<ProcessErrorEventArgs, Task>? OnError { get; private set; }

    public Task StartAsync(Func<ProcessMessageEventArgs, Task> onMessage, Func<ProcessErrorEventArgs, Task> onError, CancellationToken cancellationToken)
    {
        _onMessage = onMessage;
        OnError = onError;
        IsProcessing = true;
        return Task.CompletedTask;
    }

    /// <summary>Delivers one message the way the processor would, and returns the handler's task.</summary>
    public Task DeliverAsync(ProcessMessageEventArgs args)
    {
        if (!IsProcessing || _onMessage is null)
        {
            throw new InvalidOperationException("The processor is not running.");
        }

        var task = _onMessage(args);
        _inFlight[task] = 0;
        return task;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        IsProcessing = false;
        await Task.WhenAll(_inFlight.Keys);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
