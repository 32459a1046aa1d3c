using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Testing.AzureAdapters;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Delivery.Tests;

public sealed class DeliveryWorkerShutdownTests
{
    private static (ServiceBusDeliveryWorker Worker, FakeProcessor Processor) Worker(DelegateHandler handler)
    {
        var processor = new FakeProcessor();
        var dispatcher = new ServiceBusJobDispatcher(handler, new RecordingSender(), NullLogger<ServiceBusJobDispatcher>.Instance, new MailGateway.Testing.TestMeterFactory());
        return (new ServiceBusDeliveryWorker(processor, dispatcher, Microsoft.Extensions.Options.Options.Create(new MailGateway.Core.Queue.DeliveryWorkerOptions()), NullLogger<ServiceBusDeliveryWorker>.Instance), processor);
    }

    [Fact]
    public async Task Stopping_drains_in_flight_deliveries_without_cancelling_them()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelledDuringDelivery = true;
        var handler = new DelegateHandler(async (context, ct) =>
        {
            started.SetResult();
            await gate.Task;
            cancelledDuringDelivery = ct.IsCancellationRequested;
            await context.CompleteAsync(ct);
        });
        var (worker, processor) = Worker(handler);
        using var _ = worker;
        await worker.StartAsync(CancellationToken.None);
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()));
        var delivery = processor.DeliverAsync(args);
        await started.Task;

        var stopping = worker.StopAsync(CancellationToken.None);
        Assert.False(stopping.IsCompleted);
        Assert.False(processor.IsProcessing);
        Assert.Equal(1, worker.InFlight);
        gate.SetResult();
        await stopping;
        await delivery;

        Assert.False(cancelledDuringDelivery);
        Assert.Equal("complete", Assert.Single(args.Settlements).Action);
        Assert.Equal(0, worker.InFlight);
    }

    [Fact]
    public async Task When_the_drain_timeout_passes_in_flight_deliveries_are_cancelled_and_left_unsettled()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new DelegateHandler(async (context, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            await context.CompleteAsync(ct);
        });
        var (worker, processor) = Worker(handler);
        using var _ = worker;
        await worker.StartAsync(CancellationToken.None);
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()));
        var delivery = processor.DeliverAsync(args);
        await started.Task;

        using var drainTimeout = new CancellationTokenSource();
        var stopping = worker.StopAsync(drainTimeout.Token);
        Assert.False(stopping.IsCompleted);
        await drainTimeout.CancelAsync(); // what the host does when its shutdown timeout has passed
        await stopping;
        await delivery;

        Assert.Empty(args.Settlements);
    }
}
