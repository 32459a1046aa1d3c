using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;
using Microsoft.Extensions.Options;

namespace MailGateway.Delivery;

/// <summary>
/// Runs the Service Bus processor and hands every message to the dispatcher. Stopping stops receiving and waits for
/// the in-flight deliveries (the processor's stop waits for its handlers); only when the host's shutdown timeout
/// runs out are they cancelled, through a token of our own: the processor's token is cancelled as soon as stopping
/// starts and would abort every SMTP session midway.
/// </summary>
public sealed partial class ServiceBusDeliveryWorker : IHostedService, IDisposable
{
    private readonly IDeliveryJobProcessor _processor;
    private readonly ServiceBusJobDispatcher _dispatcher;
    private readonly bool _enabled;
    private readonly ILogger<ServiceBusDeliveryWorker> _logger;
    private readonly CancellationTokenSource _abort = new();
    private int _inFlight;

    /// <summary>Creates the worker; with <c>MailGateway:DeliveryWorker:Enabled=false</c> it does not receive.</summary>
    public ServiceBusDeliveryWorker(IDeliveryJobProcessor processor, ServiceBusJobDispatcher dispatcher, IOptions<DeliveryWorkerOptions> options, ILogger<ServiceBusDeliveryWorker> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _processor = processor;
        _dispatcher = dispatcher;
        _enabled = options.Value.Enabled;
        _logger = logger;
    }

    /// <summary>True while the processor receives (readiness).</summary>
    public bool IsProcessing => _processor.IsProcessing;

    /// <summary>Deliveries running now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_enabled)
        {
            LogDisabled();
            return;
        }

        await _processor.StartAsync(OnMessageAsync, OnErrorAsync, cancellationToken);
        LogStarted();
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        LogDraining(InFlight);
        // The host cancels this token when its shutdown timeout (the drain timeout) has passed.
        await using var abortOnTimeout = cancellationToken.Register(_abort.Cancel);
        await _processor.StopAsync(CancellationToken.None);
        LogStopped(InFlight);
    }

    /// <inheritdoc />
    public void Dispose() => _abort.Dispose();

    internal async Task OnMessageAsync(ProcessMessageEventArgs args)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            await _dispatcher.DispatchAsync(args, _abort.Token);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    internal Task OnErrorAsync(ProcessErrorEventArgs args)
    {
        LogProcessorError(args.Exception, args.ErrorSource.ToString(), args.EntityPath);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery worker disabled (MailGateway:DeliveryWorker:Enabled=false): not receiving")]
    private partial void LogDisabled();

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery worker started: receiving from Service Bus")]
    private partial void LogStarted();

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery worker stopping: no new jobs, draining {InFlight} in-flight deliveries")]
    private partial void LogDraining(int inFlight);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery worker stopped ({InFlight} deliveries still running)")]
    private partial void LogStopped(int inFlight);

    [LoggerMessage(Level = LogLevel.Error, Message = "Service Bus processor error ({ErrorSource}) on {EntityPath}")]
    private partial void LogProcessorError(Exception exception, string errorSource, string entityPath);
}
