using System.Runtime.CompilerServices;
using MailGateway.Core.Queue;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>
/// The pump of the SQLite queue: hands up to <see cref="DeliveryWorkerOptions.Concurrency"/> jobs at a time to the
/// host-agnostic <see cref="IDeliveryJobHandler"/>, leasing them in batches (the next batch ahead of the free slots). On shutdown it stops leasing and lets in-flight deliveries
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
        // Jobs leased ahead of a free slot: one lease write covers the next Concurrency deliveries instead of one
        // write per delivery as slots free up one at a time.
        var ahead = new Queue<(LeasedJob Job, long LeasedAt)>();
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

                int started;
                try
                {
                    started = await StartJobsAsync(ahead, free, slots, stoppingToken);
                }
                catch
                {
                    slots.Release(free);
                    throw;
                }

                if (started < free)
                {
                    slots.Release(free - started);
                }

                if (started == 0)
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

        // Jobs leased ahead and never started are visible again at once (a crash leaves them to the next start).
        await ReleaseAsync([.. ahead.Select(a => a.Job)]);

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

    /// <summary>
    /// Starts up to <paramref name="free"/> jobs, the ones leased ahead first; leases when those do not fill the free
    /// slots, <see cref="DeliveryWorkerOptions.Concurrency"/> more than needed, kept for the next free slots. A job
    /// leased ahead that waited a third of the lease is released instead of started: started later, its lease could end
    /// before the first renewal (the first renewal comes a third of a lease after the start).
    /// </summary>
    private async Task<int> StartJobsAsync(Queue<(LeasedJob Job, long LeasedAt)> ahead, int free, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        var started = 0;
        List<LeasedJob>? stale = null;
        while (true)
        {
            while (started < free && ahead.TryDequeue(out var next))
            {
                if (_time.GetElapsedTime(next.LeasedAt) >= _sqlite.LeaseDuration / 3)
                {
                    (stale ??= []).Add(next.Job);
                    continue;
                }

                Start(next.Job, slots);
                started++;
            }

            if (stale is not null)
            {
                await ReleaseAsync(stale);
                stale = null;
            }

            if (started == free || ahead.Count > 0)
            {
                return started;
            }

            var leasedAt = _time.GetTimestamp();
            var jobs = await _queue.LeaseAsync(free - started + _options.Concurrency, _sqlite.LeaseDuration, cancellationToken);
            if (jobs.Count == 0)
            {
                return started;
            }

            foreach (var job in jobs)
            {
                ahead.Enqueue((job, leasedAt));
            }
        }
    }

    private async Task ReleaseAsync(IReadOnlyList<LeasedJob> jobs)
    {
        if (jobs.Count == 0)
        {
            return;
        }

        try
        {
            await _queue.ReleaseAsync(jobs, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // They become visible when their leases end.
            LogReleaseFailed(ex, jobs.Count);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} job(s) leased ahead could not be released; they are visible again when their leases end")]
    private partial void LogReleaseFailed(Exception exception, int count);

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
