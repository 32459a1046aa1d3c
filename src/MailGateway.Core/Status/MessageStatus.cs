using System.Text.Json.Serialization;
using MailGateway.Core.Delivery;
using MailGateway.Core.Messages;

namespace MailGateway.Core.Status;

/// <summary>The lifecycle of an outbound message, as the status API reports it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MessageState>))]
public enum MessageState
{
    /// <summary>Accepted and waiting for its first attempt.</summary>
    Queued,

    /// <summary>Accepted with a <c>sendAt</c> in the future.</summary>
    Scheduled,

    /// <summary>A worker is delivering it now.</summary>
    Sending,

    /// <summary>The relay accepted it.</summary>
    Delivered,

    /// <summary>The last attempt failed transiently; another is scheduled.</summary>
    Deferred,

    /// <summary>Permanently refused, or a configuration error.</summary>
    Failed,

    /// <summary>Not delivered before the maximum age or the caller's deadline.</summary>
    Expired,

    /// <summary>The connection was lost after the final dot; not resent automatically.</summary>
    Unknown,

    /// <summary>Canceled by an operator before an attempt started; never sent.</summary>
    Canceled,

    /// <summary>Every recipient is on the sender's suppression list; never sent (the relay was not contacted).</summary>
    Suppressed,
}

/// <summary>One delivery attempt, for the status API.</summary>
public sealed record DeliveryAttemptRecord(
    int Number,
    DateTimeOffset StartedAt,
    TimeSpan Duration,
    DeliveryOutcomeKind Outcome,
    int? Port,
    string? TlsProtocol,
    string? Reply);

/// <summary>The stored status of one message.</summary>
public sealed record MessageRecord
{
    /// <summary>The gateway message id.</summary>
    public required string Id { get; init; }

    /// <summary>The id of the API key that submitted it (status is only visible to that key).</summary>
    public required string Owner { get; init; }

    /// <summary>The current state.</summary>
    public required MessageState State { get; init; }

    /// <summary>When it was accepted.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the record last changed.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The caller's scheduled send time.</summary>
    public DateTimeOffset? SendAt { get; init; }

    /// <summary>The caller's deliver-by deadline.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When the next attempt is due (deferred or scheduled).</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>The last reply or reason, for a quick look.</summary>
    public string? LastReply { get; init; }

    /// <summary>Every attempt so far.</summary>
    public IReadOnlyList<DeliveryAttemptRecord> Attempts { get; init; } = [];

    /// <summary>The latest known state of each recipient.</summary>
    public IReadOnlyList<RecipientResult> Recipients { get; init; } = [];

    /// <summary>The caller's tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The caller's metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Where the composed MIME is stored. With <see cref="Envelope"/> it is what the first delivery job needs, so an
    /// idempotent replay of a message still waiting for its first attempt can enqueue that same job again without
    /// composing the message again (<see cref="Submissions.Submission.FirstJobOf"/>). Null in records written by
    /// earlier versions.
    /// </summary>
    public string? ContentReference { get; init; }

    /// <summary>The SMTP envelope of the first delivery job (see <see cref="ContentReference"/>).</summary>
    public Envelope? Envelope { get; init; }
}
