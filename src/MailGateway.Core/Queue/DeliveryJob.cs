namespace MailGateway.Core.Queue;

/// <summary>
/// The small job that travels on the queue (SQLite row or Service Bus message body as JSON). The MIME stays in
/// the <see cref="Storage.IMessageContentStore"/>; the job only references it.
/// </summary>
public sealed record DeliveryJob
{
    /// <summary>The current schema version of the JSON form.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Schema version; a reader refuses versions it does not know (dead-letter, not crash).</summary>
    public int Version { get; init; } = CurrentVersion;

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
}
