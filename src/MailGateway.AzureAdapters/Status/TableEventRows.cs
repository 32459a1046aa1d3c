using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using MailGateway.Core.Events;

namespace MailGateway.AzureAdapters.Status;

/// <summary>
/// The event rows of a message's partition (the outbox of <see cref="TableMessageStatusStore"/>): the events of one
/// state change are added in the entity-group transaction that updates the status row, so they exist if and only if
/// the change committed. Each event gets the next number of the message's own sequence, kept on the status row
/// (<c>EventSequence</c>, updated by the same ETag-conditional write). The events of one change are packed into as
/// few rows as fit (<c>event-</c> and the first sequence in 12 digits, so lexical order is numeric order; properties
/// <c>First</c>, <c>Last</c> and the chunked JSON <c>Events</c>), so a change writes one event row, not one per
/// recipient: a transaction holds at most 100 entities and 4 MiB. Tags and metadata are not repeated in every event:
/// the reader takes them from the status row (they never change after accept).
/// </summary>
internal static class TableEventRows
{
    /// <summary>The row key prefix of event rows.</summary>
    public const string Prefix = "event-";

    /// <summary>The first row key after every event row (<c>'.'</c> follows <c>'-'</c>).</summary>
    public const string PrefixEnd = "event.";

    /// <summary>The property of the status row holding the last sequence written.</summary>
    public const string SequenceProperty = "EventSequence";

    // An entity holds at most 1 MiB (strings count 2 bytes a character) and 255 properties: 15 chunks of 30,000 chars.
    private const int RowChars = 15 * 30_000;

    // A transaction's body is at most 4 MiB, the status row (up to 1 MiB) included.
    private const int TransactionChars = 3 * RowChars;

    // Replies in events are cut as the status row cuts them; if one change's events still exceed the budget (thousands
    // of recipients, each with a long reply) the recipients' replies are cut further.
    private const int MaxReplyChars = 8_000;
    private const int ShortReplyChars = 200;

    /// <summary>The last sequence written for the message whose status row is <paramref name="status"/> (0 for none).</summary>
    public static long LastSequence(TableEntity status) => status.GetInt64(SequenceProperty) ?? 0;

    /// <summary>
    /// Numbers <paramref name="events"/> after the status row's last sequence, sets the new last sequence on
    /// <paramref name="status"/> (the entity the caller's transaction writes) and returns the actions adding the rows.
    /// </summary>
    public static IReadOnlyList<TableTransactionAction> Append(TableEntity status, IReadOnlyList<MessageEvent> events)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (events.Count == 0)
        {
            return [];
        }

        var first = LastSequence(status) + 1;
        var rows = Pack(status.PartitionKey, first, events, MaxReplyChars);
        if (rows.Sum(r => r.Chars) > TransactionChars)
        {
            rows = Pack(status.PartitionKey, first, events, ShortReplyChars);
            if (rows.Sum(r => r.Chars) > TransactionChars)
            {
                throw new InvalidOperationException($"The events of one change of {status.PartitionKey} do not fit in one Table transaction ({events.Count} events).");
            }
        }

        status[SequenceProperty] = first + events.Count - 1;
        return [.. rows.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r.Entity))];
    }

    /// <summary>The events stored in an event row, in sequence order.</summary>
    public static List<StoredEvent> Read(TableEntity row) =>
        TableMessageStatusStore.ReadChunks(row, "Events") is { } json
            ? JsonSerializer.Deserialize(json, StatusJsonContext.Default.ListStoredEvent) ?? []
            : [];

    /// <summary>The row key of the row whose first event is <paramref name="sequence"/>.</summary>
    public static string RowKey(long sequence) => Prefix + sequence.ToString("D12", CultureInfo.InvariantCulture);

    private static List<(TableEntity Entity, int Chars)> Pack(string partition, long first, IReadOnlyList<MessageEvent> events, int replyChars)
    {
        var rows = new List<(TableEntity, int)>();
        var json = new StringBuilder();
        var rowFirst = first;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var cut = e.Recipient is null ? MaxReplyChars : replyChars;
            var stored = new StoredEvent(first + i, e.Type, e.Time, e.Recipient, e.Attempt, e.Port,
                e.Reply is { } reply && reply.Length > cut ? reply[..cut] : e.Reply);
            var one = JsonSerializer.Serialize(stored, StatusJsonContext.Default.StoredEvent);
            if (json.Length > 0 && json.Length + one.Length + 2 > RowChars)
            {
                rows.Add(Row(partition, rowFirst, first + i - 1, json.Append(']').ToString()));
                json.Clear();
                rowFirst = first + i;
            }

            json.Append(json.Length == 0 ? '[' : ',').Append(one);
        }

        rows.Add(Row(partition, rowFirst, first + events.Count - 1, json.Append(']').ToString()));
        return rows;
    }

    private static (TableEntity, int) Row(string partition, long first, long last, string json)
    {
        var row = new TableEntity(partition, RowKey(first))
        {
            ["First"] = first,
            ["Last"] = last,
        };
        TableMessageStatusStore.WriteChunks(row, "Events", json);
        return (row, json.Length);
    }
}

/// <summary>An event as an event row stores it (the message's id, owner, tags and metadata are the status row's).</summary>
/// <param name="Seq">The message's own sequence number.</param>
/// <param name="Type">The type.</param>
/// <param name="Time">When.</param>
/// <param name="Recipient">The recipient, for a recipient's event.</param>
/// <param name="Attempt">The attempt number.</param>
/// <param name="Port">The relay port.</param>
/// <param name="Reply">The reply or reason.</param>
internal sealed record StoredEvent(long Seq, string Type, DateTimeOffset Time, string? Recipient, int? Attempt, int? Port, string? Reply);
