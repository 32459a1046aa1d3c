using System.Collections.Concurrent;
using MailGateway.Core.Events;
using MailGateway.Core.Webhooks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Webhooks;

/// <summary>
/// Delivers the event log to the webhook endpoints — the configured ones and those created through the API — at least
/// once and in log order: per endpoint one loop reads the events after the endpoint's cursor and sends them one by
/// one; a 2xx advances the cursor, anything else (an error status, a redirect, no answer within the timeout, a refused
/// address) stops the endpoint at that event and retries it on <see cref="WebhookOptions.RetrySchedule"/>. When the
/// schedule runs out (about three days of failures) the endpoint is disabled; its cursor is kept, so nothing is skipped
/// when it is re-enabled. A crash before the cursor is written sends the same events again, with the same
/// <c>webhook-id</c>. Endpoints created through the API are picked up within <see cref="WebhookOptions.PollInterval"/>;
/// their loop re-reads the endpoint every round (a change, a disable or a delete takes effect at the next round).
/// Where several processes run it (replicas of the Azure delivery worker), only the holder of the
/// <see cref="IWebhookDispatchLease"/> sends.
/// </summary>
public sealed partial class WebhookDispatcher(
    IOptions<WebhookOptions> options,
    IMessageEventStore events,
    IWebhookStateStore states,
    IWebhookRegistry registry,
    WebhookSender sender,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger,
    IWebhookDispatchLease? lease = null) : BackgroundService
{
    private const int PageSize = 100;

    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly IWebhookDispatchLease _lease = lease ?? IWebhookDispatchLease.SingleProcess;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var configured = settings.Endpoints.Select((endpoint, i) =>
        {
            var target = WebhookTarget.From(settings.NameOf(i), endpoint);
            return RunAsync(target.Name, _ => Task.FromResult<Round>(new Round.Send(target, null)), exitWhenDisabled: true, settings, stoppingToken);
        }).ToList();
        await SuperviseAsync(settings, stoppingToken);
        await Task.WhenAll(configured.Concat(_running.Values));
    }

    /// <summary>Starts a loop for every endpoint of the registry that has none; every poll interval.</summary>
    private async Task SuperviseAsync(WebhookOptions settings, CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var definition in await registry.ListAsync(null, stoppingToken))
                {
                    var id = definition.Id;
                    if (!_running.ContainsKey(id))
                    {
                        var loop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        if (_running.TryAdd(id, loop.Task))
                        {
                            _ = RunRegisteredAsync(id, settings, loop, stoppingToken);
                        }
                    }
                }

                await Task.Delay(settings.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogStepFailed(ex, "(the list of endpoints)");
                await Task.Delay(settings.PollInterval * 5, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task RunRegisteredAsync(string id, WebhookOptions settings, TaskCompletionSource done, CancellationToken stoppingToken)
    {
        try
        {
            async Task<WebhookTarget?> ResolveAsync(CancellationToken ct) =>
                await registry.GetAsync(id, ct) is { Enabled: true } definition ? WebhookTarget.From(definition, time.GetUtcNow()) : null;

            await RunAsync(id, async ct =>
            {
                var definition = await registry.GetAsync(id, ct);
                return definition is null ? new Round.Stop() : definition.Enabled ? new Round.Send(WebhookTarget.From(definition, time.GetUtcNow()), ResolveAsync) : new Round.Idle();
            }, exitWhenDisabled: false, settings, stoppingToken);
        }
        finally
        {
            _running.TryRemove(id, out _);
            done.TrySetResult();
        }
    }

    /// <summary>What the loop of an endpoint does next.</summary>
    private abstract record Round
    {
        /// <summary>
        /// Send to <paramref name="Target"/>; <paramref name="Refresh"/> (API endpoints) reads it again after the page
        /// is read, so an event committed after a rotation is signed with the new secret too.
        /// </summary>
        public sealed record Send(WebhookTarget Target, Func<CancellationToken, Task<WebhookTarget?>>? Refresh) : Round;

        /// <summary>Nothing this round (disabled through the API).</summary>
        public sealed record Idle : Round;

        /// <summary>The endpoint is gone: end the loop.</summary>
        public sealed record Stop : Round;
    }

    private async Task RunAsync(string name, Func<CancellationToken, Task<Round>> next, bool exitWhenDisabled, WebhookOptions settings, CancellationToken stoppingToken)
    {
        await Task.Yield();
        var disabledLogged = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await _lease.HoldAsync(stoppingToken))
                {
                    // Another process dispatches; this one looks again at the next poll.
                    await Task.Delay(settings.PollInterval, time, stoppingToken);
                    continue;
                }

                var round = await next(stoppingToken);
                if (round is Round.Stop)
                {
                    return;
                }

                var wait = round is Round.Send send ? await StepAsync(send, settings, exitWhenDisabled, stoppingToken) : settings.PollInterval;
                if (wait is null)
                {
                    if (!disabledLogged)
                    {
                        LogDisabled(name);
                        disabledLogged = true;
                    }

                    if (exitWhenDisabled)
                    {
                        return;
                    }

                    wait = settings.PollInterval;
                }
                else
                {
                    disabledLogged = false;
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

    /// <summary>One round: the wait before the next, or null when the endpoint is disabled (its retry schedule ran out).</summary>
    private async Task<TimeSpan?> StepAsync(Round.Send round, WebhookOptions settings, bool configured, CancellationToken cancellationToken)
    {
        var target = round.Target;
        // An API endpoint's state exists from its creation on; none means it was deleted a moment ago.
        var state = configured
            ? await states.GetOrCreateAsync(target.Name, cancellationToken)
            : await states.FindAsync(target.Name, cancellationToken);
        if (state is null)
        {
            return settings.PollInterval;
        }

        if (state.Disabled)
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (state.NextAttemptAt is { } due && due > now)
        {
            // An API endpoint looks again every poll interval: a PATCH that resets it takes effect at once.
            var remaining = due - now;
            return configured || remaining < settings.PollInterval ? remaining : settings.PollInterval;
        }

        var page = await events.ReadAsync(new MessageEventQuery(
            target.Owner, state.After, PageSize, null, target.EventTypes.Count > 0 ? target.EventTypes : null, state.AfterId), cancellationToken);
        if (page.Count == 0)
        {
            return settings.PollInterval;
        }

        if (round.Refresh is { } refresh)
        {
            // Disabled or deleted meanwhile: the next round sees it.
            if (await refresh(cancellationToken) is not { } current)
            {
                return TimeSpan.Zero;
            }

            target = current with { Owner = target.Owner, EventTypes = target.EventTypes };
        }

        // The cursor: the sequence of a numbered log, and the event id of a log whose ids are not numbers (the Azure feed).
        var delivered = state.After;
        var deliveredId = state.AfterId;
        int? lastStatus = state.LastStatus;
        try
        {
            foreach (var e in page)
            {
                var result = await sender.SendAsync(target, e, cancellationToken);
                lastStatus = result.Status;
                if (result.Delivered)
                {
                    delivered = e.Sequence;
                    deliveredId = e.FeedId;
                    continue;
                }

                // A new event failing starts a new count; the same one failing again continues it.
                var fresh = delivered != state.After || !string.Equals(deliveredId, state.AfterId, StringComparison.Ordinal) || state.Failures == 0;
                var failures = fresh ? 1 : state.Failures + 1;
                var at = time.GetUtcNow();
                var delay = settings.RetryDelay(failures);
                LogAttemptFailed(target.Name, e.Id, failures, result.Status, result.Error);
                await states.SaveAsync(state with
                {
                    After = delivered,
                    AfterId = deliveredId,
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
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested
            && (delivered != state.After || !string.Equals(deliveredId, state.AfterId, StringComparison.Ordinal)))
        {
            // Keep what was acknowledged before the shutdown, so it is not sent again.
            await states.SaveAsync(state with { After = delivered, AfterId = deliveredId, Failures = 0, FailingSince = null, NextAttemptAt = null }, CancellationToken.None);
            throw;
        }

        await states.SaveAsync(state with { After = delivered, AfterId = deliveredId, Failures = 0, FailingSince = null, NextAttemptAt = null, LastStatus = lastStatus, LastError = null }, CancellationToken.None);
        return page.Count == PageSize ? TimeSpan.Zero : settings.PollInterval;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook endpoint {Endpoint}: event {EventId} not delivered (failure {Failures}, status {Status}): {Error}")]
    private partial void LogAttemptFailed(string endpoint, string eventId, int failures, int? status, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook endpoint {Endpoint} is disabled: its retry schedule ran out")]
    private partial void LogDisabled(string endpoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook endpoint {Endpoint}: the event log or its state is unavailable")]
    private partial void LogStepFailed(Exception exception, string endpoint);
}
