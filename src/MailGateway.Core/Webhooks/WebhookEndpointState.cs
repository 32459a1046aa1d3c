namespace MailGateway.Core.Webhooks;

/// <summary>The delivery state of one webhook endpoint: its cursor in the event log and its failures.</summary>
/// <param name="Name">The endpoint's name.</param>
/// <param name="After">The sequence of the last event the endpoint acknowledged with a 2xx.</param>
/// <param name="Failures">Failed attempts of the event after the cursor, in a row.</param>
/// <param name="FailingSince">When the first of those failed.</param>
/// <param name="NextAttemptAt">When the next attempt is due (null: now).</param>
/// <param name="LastStatus">The last HTTP status code answered (null: no answer).</param>
/// <param name="LastError">The last failure, for the operator.</param>
/// <param name="Disabled">True once the retry schedule ran out: nothing more is sent until the state is reset.</param>
/// <param name="AfterId">
/// The cursor as the log's own event id, for a log whose ids are not numbers (the Azure feed,
/// <see cref="Events.IMessageEventFeedCursor"/>); null for a numbered log, whose cursor is <paramref name="After"/>.
/// </param>
/// <param name="Resets">
/// How many times the state was reset through the API (<see cref="IWebhookRegistry.UpdateAsync"/> with a reset) when it
/// was read: a save of a state read before a reset keeps the reset and only moves the cursor forward.
/// </param>
public sealed record WebhookEndpointState(
    string Name, long After, int Failures, DateTimeOffset? FailingSince, DateTimeOffset? NextAttemptAt, int? LastStatus, string? LastError, bool Disabled,
    string? AfterId = null, long Resets = 0)
{
    /// <summary>The cursor as an event id (<c>cursor</c> of the API), or null before the first event.</summary>
    public string? Cursor => AfterId ?? (After > 0 ? Events.MessageEventIds.Format(After) : null);
}

/// <summary>The delivery state of webhook endpoints (SQLite in the standalone host, Table storage in Azure).</summary>
public interface IWebhookStateStore
{
    /// <summary>The state of <paramref name="name"/>, or null when it has none (an API endpoint that was deleted).</summary>
    Task<WebhookEndpointState?> FindAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// The state of <paramref name="name"/>; an endpoint seen for the first time starts after the newest event (it
    /// receives what happens from now on, not the history).
    /// </summary>
    Task<WebhookEndpointState> GetOrCreateAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="state"/>; a state that is gone meanwhile (its endpoint deleted) stays gone. When the stored
    /// state was reset after <paramref name="state"/> was read (its <see cref="WebhookEndpointState.Resets"/> is behind),
    /// only the cursor moves forward: the failures, the schedule and the disabled flag stay as the reset left them.
    /// </summary>
    Task SaveAsync(WebhookEndpointState state, CancellationToken cancellationToken);
}
