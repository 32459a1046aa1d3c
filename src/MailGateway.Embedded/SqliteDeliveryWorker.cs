using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>
/// The pump of the SQLite queue: leases up to <see cref="DeliveryWorkerOptions.Concurrency"/> jobs and hands each to
/// the host-agnostic <see cref="IDeliveryJobHandler"/>. On shutdown it stops leasing and lets in-flight deliveries
/// finish (they are cancelled only when the host's shutdown timeout runs out; an unsettled job becomes visible
/// again when its lease ends, or at the next start).
/// </summary>
public sealed partial class SqliteDeliveryWorker : BackgroundService
{
    private readonly SqliteDeliveryQueue _queue;
    private readonly IDeliveryJobHandler _handler;
    private readonly IMessageStatusStore _status;
    private readonly DeliveryWorkerOptions _options;
    private readonly EmbeddedStorageOptions _storage;
    private readonly ILogger<SqliteDeliveryWorker> _logger;
    private readonly CancellationTokenSource _abortInFlight = new();
    private readonly HashSet<Task> _inFlight = [];
    private readonly Lock _inFlightLock = new();

    /// <summary>Creates the worker.</summary>
    public SqliteDeliveryWorker(
        SqliteDeliveryQueue queue,
        IDeliveryJobHandler handler,
        IMessageStatusStore status,
        IOptions<DeliveryWorkerOptions> options,
        IOptions<EmbeddedStorageOptions> storage,
        ILogger<SqliteDeliveryWorker> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(storage);
        _queue = queue;
        _handler = handler;
        _status = status;
        _options = options.Value;
        _storage = storage.Value;
        _logger = logger;
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stop leasing first, then wait for in-flight deliveries; abort them only when the host gives up waiting.
        await using var registration = cancellationToken.Register(() => _abortInFlight.Cancel());
        await base.StopAsync(cancellationToken);
        Task[] remaining;
        lock (_inFlightLock)
        {
            remaining = [.. _inFlight];
        }

        if (remaining.Length > 0)
        {
            LogDraining(remaining.Length);
            await Task.WhenAll(remaining);
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _abortInFlight.Dispose();
        base.Dispose();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        var released = await _queue.ReleaseAllLeasesAsync(stoppingToken);
        if (released > 0)
        {
            LogReleased(released);
        }

        using var slots = new SemaphoreSlim(_options.Concurrency, _options.Concurrency);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await slots.WaitAsync(stoppingToken);
                var free = 1;
                while (slots.Wait(0))
                {
                    free++;
                }

                IReadOnlyList<LeasedJob> jobs;
                try
                {
                    jobs = await _queue.LeaseAsync(free, _options.LeaseDuration, stoppingToken);
                }
                catch
                {
                    slots.Release(free);
                    throw;
                }

                if (jobs.Count < free)
                {
                    slots.Release(free - jobs.Count);
                }

                foreach (var job in jobs)
                {
                    Start(job, slots);
                }

                if (jobs.Count == 0)
                {
                    await _queue.WaitForWorkAsync(_options.IdlePollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database is unavailable for a moment (disk full, locked): keep the worker alive, retry later.
                LogPumpError(ex);
                try
                {
                    await Task.Delay(_options.IdlePollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        Task[] remaining;
        lock (_inFlightLock)
        {
            remaining = [.. _inFlight];
        }

        await Task.WhenAll(remaining);
    }

    private void Start(LeasedJob job, SemaphoreSlim slots)
    {
        var task = RunAsync(job, slots);
        lock (_inFlightLock)
        {
            if (!task.IsCompleted)
            {
                _inFlight.Add(task);
            }
        }

        _ = task.ContinueWith(
            t =>
            {
                lock (_inFlightLock)
                {
                    _inFlight.Remove(t);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task RunAsync(LeasedJob job, SemaphoreSlim slots)
    {
        await Task.Yield();
        var cancellationToken = _abortInFlight.Token;
        try
        {
            if (job.DeliveryCount > _storage.MaxDeliveryCount)
            {
                LogPoison(job.Job.MessageId, job.DeliveryCount);
                await _status.SetStateAsync(job.Job.MessageId, MessageState.Failed, $"Dead-lettered after {job.DeliveryCount - 1} unsettled deliveries.", cancellationToken);
                await job.DeadLetterAsync(DeadLetterReasons.TooManyDeliveries, $"Handed out {job.DeliveryCount} times without a settlement.", cancellationToken);
                return;
            }

            await _handler.HandleAsync(job, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogAborted(job.Job.MessageId);
        }
        catch (Exception ex)
        {
            // Unsettled: the job becomes visible again when its lease ends.
            LogHandlerError(ex, job.Job.MessageId);
        }
        finally
        {
            slots.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Released {Count} lease(s) left by a previous run")]
    private partial void LogReleased(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Waiting for {Count} in-flight deliveries to finish")]
    private partial void LogDraining(int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "The delivery worker could not read the queue; retrying")]
    private partial void LogPumpError(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling the job of message {MessageId} failed; it will be retried when its lease ends")]
    private partial void LogHandlerError(Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery of message {MessageId} was aborted by shutdown; it will be retried")]
    private partial void LogAborted(string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job of message {MessageId} was handed out {Count} times without a settlement; dead-lettering")]
    private partial void LogPoison(string messageId, int count);
}
