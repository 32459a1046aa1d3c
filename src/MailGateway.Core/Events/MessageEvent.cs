using System.Globalization;
using MailGateway.Core.Delivery;
using MailGateway.Core.Status;

namespace MailGateway.Core.Events;

/// <summary>The event types (the <c>type</c> of a <see cref="MessageEvent"/>, the <c>types</c> filter of the feed).</summary>
public static class MessageEventTypes
{
    /// <summary>The message was accepted (written with the status record at accept).</summary>
    public const string Accepted = "accepted";

    /// <summary>The message was accepted with a <c>sendAt</c> in the future.</summary>
    public const string Scheduled = "scheduled";

    /// <summary>An attempt ended transiently; another is scheduled (message), or this recipient waits for it (recipient).</summary>
    public const string Deferred = "deferred";

    /// <summary>The relay accepted the message (message) or this recipient (recipient).</summary>
    public const string Delivered = "delivered";

    /// <summary>Permanently refused.</summary>
    public const string Failed = "failed";

    /// <summary>Not delivered before the maximum age or the caller's deadline.</summary>
    public const string Expired = "expired";

    /// <summary>The connection was lost after the final dot.</summary>
    public const string Unknown = "unknown";

    /// <summary>Canceled through the API before an attempt started; never sent.</summary>
    public const string Canceled = "canceled";

    /// <summary>Not sent: the recipient (recipient event) or every recipient (message event) is on the suppression list.</summary>
    public const string Suppressed = "suppressed";

    /// <summary>A delivery status notification (a DSN to the bounce domain) reported the recipient as permanently failed.</summary>
    public const string Bounced = "bounced";

    /// <summary>Every type, in lifecycle order.</summary>
    public static readonly IReadOnlyList<string> All = [Accepted, Scheduled, Deferred, Delivered, Failed, Expired, Unknown, Canceled, Suppressed, Bounced];

    /// <summary>The event type of a message entering <paramref name="state"/>, or null for states without one (queued, sending).</summary>
    public static string? Of(MessageState state) => state switch
    {
        MessageState.Scheduled => Scheduled,
        MessageState.Deferred => Deferred,
        MessageState.Delivered => Delivered,
        MessageState.Failed => Failed,
        MessageState.Expired => Expired,
        MessageState.Unknown => Unknown,
        MessageState.Canceled => Canceled,
        MessageState.Suppressed => Suppressed,
        _ => null,
    };

    /// <summary>The event type of a recipient entering <paramref name="state"/>.</summary>
    public static string Of(RecipientState state) => state switch
    {
        RecipientState.Delivered => Delivered,
        RecipientState.Failed => Failed,
        RecipientState.Unknown => Unknown,
        RecipientState.Suppressed => Suppressed,
        RecipientState.Bounced => Bounced,
        _ => Deferred,
    };
}

/// <summary>
/// One state change of a message (<see cref="Recipient"/> null) or of one of its recipients, written by the status
/// store in the same transaction as the change itself (an outbox): it exists if and only if the change committed.
/// </summary>
public sealed record MessageEvent
{
    /// <summary>The position in the store's event log: assigned at commit, increasing in commit order (0 before it is written).</summary>
    public long Sequence { get; init; }

    /// <summary>
    /// The event id: <see cref="FeedId"/> when the store set one, else <c>evt_</c> and the sequence in 16 digits: unique,
    /// sortable, and the feed's cursor.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => FeedId ?? MessageEventIds.Format(Sequence);

    /// <summary>
    /// The id a log whose order is not one number gives the event (the Azure feed: <c>evt_</c>, the change's time,
    /// the message id and the message's own sequence); null for a numbered log (SQLite), whose id is the sequence.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? FeedId { get; init; }

    /// <summary>The type (<see cref="MessageEventTypes"/>).</summary>
    public required string Type { get; init; }

    /// <summary>When the change happened.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The message id.</summary>
    public required string MessageId { get; init; }

    /// <summary>The id of the API key that sent the message (events are visible to that key only).</summary>
    public required string Owner { get; init; }

    /// <summary>The recipient, for a recipient's event; null for the message's own.</summary>
    public string? Recipient { get; init; }

    /// <summary>The delivery attempt's number (1 for the first), when an attempt caused the change.</summary>
    public int? Attempt { get; init; }

    /// <summary>The relay port of the attempt, when a connection was made.</summary>
    public int? Port { get; init; }

    /// <summary>The SMTP reply (or the reason when there was none).</summary>
    public string? Reply { get; init; }

    /// <summary>The message's tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The message's metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

/// <summary>The one format of event ids and feed cursors.</summary>
public static class MessageEventIds
{
    private const string Prefix = "evt_";
    private const int Digits = 16;

    /// <summary><c>evt_</c> and the sequence in 16 digits.</summary>
    public static string Format(long sequence) => Prefix + sequence.ToString("D16", CultureInfo.InvariantCulture);

    /// <summary>Parses an id (the feed's <c>after</c> cursor); false for anything that is not one.</summary>
    public static bool TryParse(string? id, out long sequence)
    {
        sequence = 0;
        return id is { Length: Digits + 4 }
            && id.StartsWith(Prefix, StringComparison.Ordinal)
            && id.AsSpan(Prefix.Length).ContainsOnlyDigits()
            && long.TryParse(id.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out sequence);
    }

    private static bool ContainsOnlyDigits(this ReadOnlySpan<char> text) => !text.ContainsAnyExceptInRange('0', '9');
}

/// <summary>
/// The events a state change writes, the one rule every status store applies inside its transaction: accept writes
/// <c>accepted</c> (and <c>scheduled</c> for a future <c>sendAt</c>); an attempt writes one event per recipient
/// whose result changed, then the message's; a state set without an attempt (expired, dead-lettered) writes the message's.
/// </summary>
public static class MessageEvents
{
    /// <summary>The events of a record created at accept.</summary>
    public static IReadOnlyList<MessageEvent> ForAccept(MessageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var accepted = Base(record, MessageEventTypes.Accepted, record.CreatedAt);
        return record.State == MessageState.Scheduled
            ? [accepted, Base(record, MessageEventTypes.Scheduled, record.CreatedAt)]
            : [accepted];
    }

    /// <summary>The events of an attempt that moved <paramref name="before"/> to <paramref name="after"/>.</summary>
    public static IReadOnlyList<MessageEvent> ForAttempt(MessageRecord before, MessageRecord after, DeliveryAttemptRecord attempt)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(attempt);
        var events = new List<MessageEvent>();
        foreach (var recipient in after.Recipients)
        {
            if (before.Recipients.Contains(recipient))
            {
                continue; // unchanged by this attempt (delivered or refused earlier)
            }

            events.Add(Base(after, MessageEventTypes.Of(recipient.State), after.UpdatedAt) with
            {
                Recipient = recipient.Address,
                Attempt = attempt.Number,
                Port = attempt.Port,
                Reply = recipient.Reply?.ToString() ?? attempt.Reply,
            });
        }

        if (MessageEventTypes.Of(after.State) is { } type)
        {
            events.Add(Base(after, type, after.UpdatedAt) with { Attempt = attempt.Number, Port = attempt.Port, Reply = after.LastReply });
        }

        return events;
    }

    /// <summary>The event of a state set without an attempt (none for a state without an event type).</summary>
    public static IReadOnlyList<MessageEvent> ForState(MessageRecord after)
    {
        ArgumentNullException.ThrowIfNull(after);
        return MessageEventTypes.Of(after.State) is { } type
            ? [Base(after, type, after.UpdatedAt) with { Reply = after.LastReply }]
            : [];
    }

    /// <summary>The <c>bounced</c> event of <paramref name="recipient"/> (a DSN reported it failed after the relay took it).</summary>
    public static MessageEvent ForBounce(MessageRecord after, string recipient, string reply, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(after);
        return Base(after, MessageEventTypes.Bounced, time) with { Recipient = recipient, Reply = reply };
    }

    private static MessageEvent Base(MessageRecord record, string type, DateTimeOffset time) => new()
    {
        Type = type,
        Time = time,
        MessageId = record.Id,
        Owner = record.Owner,
        Tags = record.Tags,
        Metadata = record.Metadata,
    };
}

/// <summary>A query of the event log: one key's events after a cursor, optionally one message's, optionally some types.</summary>
/// <param name="Owner">The API key whose messages' events are read; null for every key (the webhook dispatcher).</param>
/// <param name="After">The sequence of the last event already seen (0 for the start).</param>
/// <param name="Limit">The most events to return.</param>
/// <param name="MessageId">Only this message's events, when set.</param>
/// <param name="Types">Only these types, when set and not empty.</param>
/// <param name="AfterId">
/// The cursor as the store's own event id, for a log whose ids are not numbers (<see cref="IMessageEventFeedCursor"/>,
/// the Azure feed); null for a numbered log, which reads <paramref name="After"/>.
/// </param>
public sealed record MessageEventQuery(string? Owner, long After, int Limit, string? MessageId = null, IReadOnlyList<string>? Types = null, string? AfterId = null);

/// <summary>
/// A log whose feed ids are not <c>evt_</c> and a number (the Azure feed, ordered by time, message and the message's
/// own sequence): it says which cursors it accepts, and reads <see cref="MessageEventQuery.AfterId"/>. A store without
/// it takes the ids of <see cref="MessageEventIds"/>.
/// </summary>
public interface IMessageEventFeedCursor
{
    /// <summary>True when <paramref name="cursor"/> is an event id of this log's feed (the <c>after</c> of <c>GET /api/v1/events</c>).</summary>
    bool IsFeedCursor(string cursor);
}

/// <summary>
/// The event log (the outbox the status store writes), read in a stable order: by <see cref="MessageEvent.Sequence"/>,
/// which increases in commit order, so a reader that saw an event never later finds an earlier one appear.
/// </summary>
public interface IMessageEventStore
{
    /// <summary>The events matching <paramref name="query"/>, in sequence order, at most <see cref="MessageEventQuery.Limit"/>.</summary>
    Task<IReadOnlyList<MessageEvent>> ReadAsync(MessageEventQuery query, CancellationToken cancellationToken);
}
