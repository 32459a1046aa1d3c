using MailGateway.Core.Events;
using MailGateway.Core.Webhooks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>
/// Delivers the event log to the configured webhook endpoints, at least once and in log order: per endpoint one loop
/// reads the events after the endpoint's cursor and sends them one by one; a 2xx advances the cursor, anything else
/// (an error status, a redirect, no answer within the timeout, a refused address) stops the endpoint at that event
/// and retries it on <see cref="WebhookOptions.RetrySchedule"/>. When the schedule runs out (about three days of
/// failures) the endpoint is disabled; its cursor is kept, so nothing is skipped when it is re-enabled. A crash before
/// the cursor is written sends the same events again, with the same <c>webhook-id</c>.
/// </summary>
public sealed partial class WebhookDispatcher(
    IOptions<WebhookOptions> options,
    IMessageEventStore events,
    SqliteWebhookStateStore states,
    WebhookSender sender,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    private const int PageSize = 100;

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        return Task.WhenAll(settings.Endpoints.Select((endpoint, i) => RunAsync(settings.NameOf(i), endpoint, settings, stoppingToken)));
    }

    private async Task RunAsync(string name, WebhookEndpointOptions endpoint, WebhookOptions settings, CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var wait = await StepAsync(name, endpoint, settings, stoppingToken);
                if (wait is null)
                {
                    LogDisabled(name);
                    return;
                }

                if (wait.Value > TimeSpan.Zero)
                {
                    await Task.Delay(wait.Value, time, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database is unavailable (disk full, …): try again later, nothing is lost.
                LogStepFailed(ex, name);
                await Task.Delay(settings.PollInterval * 5, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>One round: the wait before the next, or null when the endpoint is disabled.</summary>
    private async Task<TimeSpan?> StepAsync(string name, WebhookEndpointOptions endpoint, WebhookOptions settings, CancellationToken cancellationToken)
    {
        var state = await states.GetOrCreateAsync(name, cancellationToken);
        if (state.Disabled)
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (state.NextAttemptAt is { } due && due > now)
        {
            return due - now;
        }

        var page = await events.ReadAsync(new MessageEventQuery(
            string.IsNullOrEmpty(endpoint.KeyId) ? null : endpoint.KeyId, state.After, PageSize, null,
            endpoint.EventTypes.Count > 0 ? endpoint.EventTypes : null), cancellationToken);
        if (page.Count == 0)
        {
            return settings.PollInterval;
        }

        var delivered = state.After;
        int? lastStatus = state.LastStatus;
        try
        {
            foreach (var e in page)
            {
                var result = await sender.SendAsync(endpoint, e, cancellationToken);
                lastStatus = result.Status;
                if (result.Delivered)
                {
                    delivered = e.Sequence;
                    continue;
                }

                // A new event failing starts a new count; the same one failing again continues it.
                var fresh = delivered != state.After || state.Failures == 0;
                var failures = fresh ? 1 : state.Failures + 1;
                var at = time.GetUtcNow();
                var delay = settings.RetryDelay(failures);
                LogAttemptFailed(name, e.Id, failures, result.Status, result.Error);
                await states.SaveAsync(state with
                {
                    After = delivered,
                    Failures = failures,
                    FailingSince = fresh ? at : state.FailingSince ?? at,
                    NextAttemptAt = delay is { } d ? at + d : null,
                    LastStatus = result.Status,
                    LastError = result.Error,
                    Disabled = delay is null,
                }, CancellationToken.None);
                return TimeSpan.Zero;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && delivered != state.After)
        {
            // Keep what was acknowledged before the shutdown, so it is not sent again.
            await states.SaveAsync(state with { After = delivered, Failures = 0, FailingSince = null, NextAttemptAt = null }, CancellationToken.None);
            throw;
        }

        await states.SaveAsync(state with { After = delivered, Failures = 0, FailingSince = null, NextAttemptAt = null, LastStatus = lastStatus, LastError = null }, CancellationToken.None);
        return page.Count == PageSize ? TimeSpan.Zero : settings.PollInterval;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook endpoint {Endpoint}: event {EventId} not delivered (failure {Failures}, status {Status}): {Error}")]
    private partial void LogAttemptFailed(string endpoint, string eventId, int failures, int? status, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook endpoint {Endpoint} is disabled: its retry schedule ran out")]
    private partial void LogDisabled(string endpoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook endpoint {Endpoint}: the event log or its state is unavailable")]
    private partial void LogStepFailed(Exception exception, string endpoint);
}
