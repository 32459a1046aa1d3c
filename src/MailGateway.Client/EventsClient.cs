using System.Globalization;
using System.Runtime.CompilerServices;

namespace MailGateway.Client;

/// <summary>The event types of <see cref="MessageEvent.Type"/> (a newer gateway may send others: compare as strings).</summary>
public static class MessageEventTypes
{
    /// <summary>The message was accepted.</summary>
    public const string Accepted = "accepted";

    /// <summary>Accepted with a <c>sendAt</c> in the future.</summary>
    public const string Scheduled = "scheduled";

    /// <summary>An attempt ended transiently.</summary>
    public const string Deferred = "deferred";

    /// <summary>The relay accepted the message, or this recipient.</summary>
    public const string Delivered = "delivered";

    /// <summary>Permanently refused.</summary>
    public const string Failed = "failed";

    /// <summary>Not delivered before the maximum age or <c>expiresAt</c>.</summary>
    public const string Expired = "expired";

    /// <summary>The connection was lost after the final dot.</summary>
    public const string Unknown = "unknown";

    /// <summary>Canceled before an attempt started.</summary>
    public const string Canceled = "canceled";
}

/// <summary>An event of a message (the feed's and the webhooks' format).</summary>
public sealed class MessageEvent
{
    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata = new Dictionary<string, string>();

    /// <summary>The event id (<c>evt_</c> and 16 digits): sortable, the feed's cursor and the webhook's <c>webhook-id</c>.</summary>
    public string Id { get; init; } = "";

    /// <summary>The type (<see cref="MessageEventTypes"/>).</summary>
    public string Type { get; init; } = "";

    /// <summary>When the change happened.</summary>
    public DateTimeOffset Time { get; init; }

    /// <summary>The message.</summary>
    public string MessageId { get; init; } = "";

    /// <summary>The recipient, for a recipient's event; null for the message's.</summary>
    public string? Recipient { get; init; }

    /// <summary>The attempt number, when an attempt caused it.</summary>
    public int? Attempt { get; init; }

    /// <summary>The relay port of that attempt.</summary>
    public int? Port { get; init; }

    /// <summary>The SMTP reply or reason.</summary>
    public string? Reply { get; init; }

    /// <summary>The message's tags.</summary>
    public IReadOnlyList<string> Tags { get => field ?? []; init; }

    /// <summary>The message's metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get => field ?? EmptyMetadata; init; }
}

/// <summary>One page of events, oldest first.</summary>
public sealed class EventPage
{
    /// <summary>The events after the cursor.</summary>
    public IReadOnlyList<MessageEvent> Events { get => field ?? []; init; }

    /// <summary>The cursor to continue with (pass as <see cref="EventQuery.After"/>); null when there is none yet.</summary>
    public string? Next { get; init; }

    /// <summary>True when the page is full: ask again with <see cref="Next"/> at once.</summary>
    public bool HasMore { get; init; }
}

/// <summary>The parameters of the event feed; every one optional.</summary>
public sealed class EventQuery
{
    /// <summary>Events after this event id (a page's <see cref="EventPage.Next"/>); null: from the first.</summary>
    public string? After { get; init; }

    /// <summary>Only these types (<see cref="MessageEventTypes"/>).</summary>
    public IReadOnlyList<string>? Types { get; init; }

    /// <summary>Page size, 1-1000 (the gateway's default 100).</summary>
    public int? Limit { get; init; }
}

/// <summary>
/// The event log of this key's messages (<c>/api/v1/events</c>, <c>/api/v1/messages/{id}/events</c>; scope <c>read</c>;
/// both hosts; the Azure feed's ids are <c>evt_&lt;ticks&gt;_&lt;message id&gt;_&lt;n&gt;</c>). For an application that cannot receive webhooks: keep the last
/// event id you processed and continue after it.
/// </summary>
public class EventsClient
{
    private readonly GatewayConnection _connection = null!;

    internal EventsClient(GatewayConnection connection) => _connection = connection;

    /// <summary>For mocking in tests of your own code: every public member is virtual.</summary>
    protected EventsClient()
    {
    }

    /// <summary><c>GET /api/v1/events</c>: one page of the feed.</summary>
    /// <exception cref="MailGatewayException">400 (a bad cursor, type or limit), 401, 403 without <c>read</c>.</exception>
    public virtual Task<EventPage> ListAsync(EventQuery? query = null, CancellationToken cancellationToken = default) =>
        _connection.SendAsync(HttpMethod.Get, "api/v1/events" + QueryOf(query), null, ClientJsonContext.Default.EventPage, null, cancellationToken);

    /// <summary><c>GET /api/v1/messages/{id}/events</c>: one page of one message's events.</summary>
    /// <exception cref="MailGatewayException">404 for an unknown id or another key's message; as <see cref="ListAsync"/>.</exception>
    public virtual Task<EventPage> ListForMessageAsync(string messageId, EventQuery? query = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        return _connection.SendAsync(HttpMethod.Get, $"api/v1/messages/{Uri.EscapeDataString(messageId)}/events" + QueryOf(query), null, ClientJsonContext.Default.EventPage, null, cancellationToken);
    }

    /// <summary>
    /// Every event after <see cref="EventQuery.After"/>, following the cursor page by page until a page is not full
    /// (<see cref="EventPage.HasMore"/> false). The last event's <see cref="MessageEvent.Id"/> is where to continue next time.
    /// </summary>
    public virtual IAsyncEnumerable<MessageEvent> ListAllAsync(EventQuery? query = null, CancellationToken cancellationToken = default) =>
        EnumerateAsync(q => ListAsync(q, cancellationToken), query, cancellationToken);

    /// <summary>Every event of one message, following the cursor (as <see cref="ListAllAsync"/>).</summary>
    public virtual IAsyncEnumerable<MessageEvent> ListAllForMessageAsync(string messageId, EventQuery? query = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        return EnumerateAsync(q => ListForMessageAsync(messageId, q, cancellationToken), query, cancellationToken);
    }

    private static async IAsyncEnumerable<MessageEvent> EnumerateAsync(Func<EventQuery, Task<EventPage>> page, EventQuery? query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = query?.After;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var current = await page(new EventQuery { After = after, Types = query?.Types, Limit = query?.Limit });
            foreach (var e in current.Events)
            {
                yield return e;
            }

            if (!current.HasMore || current.Next is null || current.Next == after)
            {
                yield break;
            }

            after = current.Next;
        }
    }

    private static string QueryOf(EventQuery? query) => query is null ? "" : GatewayConnection.Query(
        ("after", query.After),
        ("types", query.Types is { Count: > 0 } types ? string.Join(',', types) : null),
        ("limit", query.Limit?.ToString(CultureInfo.InvariantCulture)));
}
