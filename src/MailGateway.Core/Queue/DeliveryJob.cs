namespace MailGateway.Core.Queue;

/// <summary>
/// The small job that travels on the queue (SQLite row or Service Bus message). The MIME stays in the
/// <see cref="Storage.IMessageContentStore"/>; the job only references it. Its body has one wire format on every queue
/// (<see cref="DeliveryJobSerializer"/>); the trace context travels beside the body, in the queue's own metadata
/// (a column of the SQLite row, application properties of the Service Bus message).
/// </summary>
public sealed record DeliveryJob
{
    /// <summary>The gateway message id (also the Message-ID header and the Service Bus MessageId of the first enqueue).</summary>
    public required string MessageId { get; init; }

    /// <summary>Reference of the composed MIME in the content store.</summary>
    public required string ContentReference { get; init; }

    /// <summary>The envelope sender.</summary>
    public required string MailFrom { get; init; }

    /// <summary>The recipients still to deliver.</summary>
    public required IReadOnlyList<string> Recipients { get; init; }

    /// <summary>1 for the first attempt, incremented by every reschedule.</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>When the gateway accepted the message (the start of the maximum-age clock).</summary>
    public required DateTimeOffset FirstSeen { get; init; }

    /// <summary>The caller's deliver-by deadline, if any.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>
    /// The W3C <c>traceparent</c> of the request that accepted the message, so its delivery attempts join the same
    /// trace; null when the request was not traced.
    /// </summary>
    public string? TraceParent { get; init; }

    /// <summary>The W3C <c>tracestate</c> that came with <see cref="TraceParent"/>, if any.</summary>
    public string? TraceState { get; init; }

    /// <summary>
    /// The id of the API key that submitted the message (the status record's owner), carried beside the body like the
    /// trace context (on Service Bus an application property, so the dead-letter store can filter by key without a
    /// status read); null when the queue does not carry it (SQLite, whose dead letters join the record) or for a job
    /// enqueued by an earlier version.
    /// </summary>
    public string? Owner { get; init; }
}
