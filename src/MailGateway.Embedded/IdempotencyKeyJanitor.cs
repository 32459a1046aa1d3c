using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailGateway.Embedded;

/// <summary>Forgets idempotency keys past their retention, once an hour.</summary>
internal sealed partial class IdempotencyKeyJanitor : BackgroundService
{
    private readonly SqliteMessageStatusStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<IdempotencyKeyJanitor> _logger;

    public IdempotencyKeyJanitor(SqliteMessageStatusStore store, TimeProvider time, ILogger<IdempotencyKeyJanitor> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), _time);
        do
        {
            try
            {
                var purged = await _store.PurgeIdempotencyKeysAsync(stoppingToken);
                if (purged > 0)
                {
                    LogPurged(purged);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Forgot {Count} expired idempotency key(s)")]
    private partial void LogPurged(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purging expired idempotency keys failed")]
    private partial void LogFailed(Exception exception);
}
