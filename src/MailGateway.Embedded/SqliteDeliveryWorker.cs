using System.Runtime.CompilerServices;
using MailGateway.Core.Queue;
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
    private readonly DeliveryWorkerOptions _options;
    private readonly SqliteDeliveryWorkerOptions _sqlite;
    private readonly ILogger<SqliteDeliveryWorker> _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _abortInFlight = new();
    private readonly HashSet<Task> _inFlight = [];
    private readonly Lock _inFlightLock = new();

    /// <summary>Creates the worker.</summary>
    public SqliteDeliveryWorker(
        SqliteDeliveryQueue queue,
        IDeliveryJobHandler handler,
        IOptions<DeliveryWorkerOptions> options,
        IOptions<SqliteDeliveryWorkerOptions> sqlite,
        TimeProvider time,
        ILogger<SqliteDeliveryWorker> logger)
    {
        _time = time;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sqlite);
        _queue = queue;
        _handler = handler;
        _options = options.Value;
        _sqlite = sqlite.Value;
        _logger = logger;
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stop leasing first, then wait for in-flight deliveries; abort them only when the host gives up waiting.
        await using var registration = cancellationToken.Register(() => _abortInFlight.Cancel());
        await base.StopAsync(cancellationToken);
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
                    jobs = await _queue.LeaseAsync(free, _sqlite.LeaseDuration, stoppingToken);
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
                    await _queue.WaitForWorkAsync(_sqlite.IdlePollInterval, stoppingToken);
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
                    await Task.Delay(_sqlite.IdlePollInterval, _time, stoppingToken);
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

        if (remaining.Length > 0)
        {
            LogDraining(remaining.Length);
            await Task.WhenAll(remaining);
        }
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
        // Stopped by disposing the timer (its wait then returns false): a canceled token would throw an
        // OperationCanceledException at the end of every job.
        using var renewal = new PeriodicTimer(_sqlite.LeaseDuration / 3, _time);
        var handled = new StrongBox<bool>();
        var renewing = RenewWhileHandlingAsync(job, renewal, handled, cancellationToken);
        try
        {
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
            Volatile.Write(ref handled.Value, true);
            renewal.Dispose();
            await renewing;
            slots.Release();
        }
    }

    /// <summary>
    /// Extends the lease every third of its duration while the job is handled, so a slow relay (connect retries
    /// over several ports, a 10-minute DATA timeout) never lets the job reappear while it is still being sent.
    /// </summary>
    private async Task RenewWhileHandlingAsync(LeasedJob job, PeriodicTimer timer, StrongBox<bool> handled, CancellationToken cancellationToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    if (!await _queue.RenewAsync(job, _sqlite.LeaseDuration, cancellationToken))
                    {
                        // Not lost when the handler has just settled the job (a tick at the moment it finished).
                        if (!Volatile.Read(ref handled.Value))
                        {
                            LogLeaseLost(job.Job.MessageId);
                        }

                        return;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRenewFailed(ex, job.Job.MessageId);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown aborted the in-flight deliveries.
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "The lease on the job of message {MessageId} was lost while it was being handled")]
    private partial void LogLeaseLost(string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the lease on the job of message {MessageId} failed; retrying")]
    private partial void LogRenewFailed(Exception exception, string messageId);
}
