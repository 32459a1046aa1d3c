using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Webhooks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Status;

/// <summary>
/// The event feed's retention, in the delivery worker: every hour the replica that holds the webhook dispatch lease
/// (<see cref="IWebhookDispatchLease"/>; any replica when there is none) removes the feed entries older than
/// <see cref="AzureStorageOptions.EventFeedRetention"/>, in rounds of <see cref="MaxPerRound"/> until none are left.
/// </summary>
public sealed partial class EventFeedJanitor(
    TableMessageEventStore events,
    IOptions<AzureStorageOptions> options,
    TimeProvider time,
    ILogger<EventFeedJanitor> logger,
    IWebhookDispatchLease? lease = null) : BackgroundService
{
    /// <summary>The most entries one round removes.</summary>
    public const int MaxPerRound = 10_000;

    /// <summary>How often the janitor looks.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>One pass: removes what is past the retention (round after round); returns how many entries.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var before = time.GetUtcNow() - options.Value.EventFeedRetention;
        var total = 0;
        int removed;
        do
        {
            removed = await events.PruneFeedAsync(before, MaxPerRound, cancellationToken);
            total += removed;
        }
        while (removed == MaxPerRound);

        return total;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (lease is null || await lease.HoldAsync(stoppingToken))
                {
                    var removed = await RunOnceAsync(stoppingToken);
                    if (removed > 0)
                    {
                        LogRemoved(removed);
                    }
                }

                await Task.Delay(Interval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Table storage unavailable: the next pass removes what this one left.
                LogFailed(ex);
                await Task.Delay(Interval, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Event feed retention: removed {Count} entries")]
    private partial void LogRemoved(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event feed retention: the pass failed; the next one continues")]
    private partial void LogFailed(Exception exception);
}
