namespace MailGateway.Client;

/// <summary>The gateway's 202 answer to a send: the message is stored durably and queued.</summary>
public sealed class AcceptedMessage
{
    /// <summary>The message id (use it with <see cref="MessagesClient.GetAsync"/>).</summary>
    public string Id { get; init; } = "";

    /// <summary><see cref="MessageStatus.Queued"/>, or <see cref="MessageStatus.Scheduled"/> when <c>sendAt</c> is in the future.</summary>
    public MessageStatus Status { get; init; }

    /// <summary>The <c>Idempotency-Key</c> the request was sent with (yours, or the one generated for this send). Not part of the JSON answer.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string IdempotencyKey { get; internal set; } = "";
}

/// <summary>The answer of <c>GET /api/v1/messages/{id}</c>: the status of a message with every attempt and per-recipient results.</summary>
public sealed class MessageDetails
{
    // The JSON source generator sets an init-only property it did not find to null, so absent collections read as empty here.
    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata = new Dictionary<string, string>();

    /// <summary>The message id.</summary>
    public string Id { get; init; } = "";

    /// <summary>The status.</summary>
    public MessageStatus Status { get; init; }

    /// <summary>When the gateway accepted the message.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the status last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The requested earliest send time, if any.</summary>
    public DateTimeOffset? SendAt { get; init; }

    /// <summary>The requested deadline, if any.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When the next attempt is due (scheduled or deferred messages).</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>The relay's last reply, e.g. <c>250 2.0.0 OK</c>.</summary>
    public string? LastReply { get; init; }

    /// <summary>Every delivery attempt, oldest first.</summary>
    public IReadOnlyList<DeliveryAttempt> Attempts { get => field ?? []; init; }

    /// <summary>The latest state of every recipient.</summary>
    public IReadOnlyList<RecipientDetails> Recipients { get => field ?? []; init; }

    /// <summary>The tags sent with the message.</summary>
    public IReadOnlyList<string> Tags { get => field ?? []; init; }

    /// <summary>The metadata sent with the message.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get => field ?? EmptyMetadata; init; }
}

/// <summary>One delivery attempt.</summary>
public sealed class DeliveryAttempt
{
    /// <summary>The attempt number, from 1.</summary>
    public int Number { get; init; }

    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>How long it took, in milliseconds (as on the wire).</summary>
    public long DurationMs { get; init; }

    /// <summary>How long it took.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan Duration => TimeSpan.FromMilliseconds(DurationMs);

    /// <summary>The outcome.</summary>
    public AttemptOutcome Outcome { get; init; }

    /// <summary>The relay port that answered, if any.</summary>
    public int? Port { get; init; }

    /// <summary>The TLS protocol of the connection (e.g. <c>Tls13</c>), if any.</summary>
    public string? Tls { get; init; }

    /// <summary>The deciding reply.</summary>
    public string? Reply { get; init; }
}

/// <summary>The latest state of one recipient.</summary>
public sealed class RecipientDetails
{
    /// <summary>The recipient's address.</summary>
    public string Address { get; init; } = "";

    /// <summary>The recipient's status.</summary>
    public RecipientStatus Status { get; init; }

    /// <summary>The relay's reply for this recipient, if any.</summary>
    public string? Reply { get; init; }
}

/// <summary>The answer of a health probe (<c>GET /healthz</c> or <c>GET /readyz</c>).</summary>
public sealed class GatewayHealth
{
    /// <summary>True when the probe answered 200.</summary>
    public bool IsHealthy { get; init; }

    /// <summary>The gateway's word: <c>alive</c>, <c>ready</c>, or the problem's title when not ready.</summary>
    public string Status { get; init; } = "";

    /// <summary>The failing parts when not ready (<c>queue</c>, <c>statusStore</c>, <c>contentStore</c>), as field errors.</summary>
    public IReadOnlyList<FieldError> FailingComponents { get => field ?? []; init; }
}

/// <summary>The filters of <see cref="MessagesClient.ListAsync"/>; every one optional.</summary>
public sealed class MessageListQuery
{
    /// <summary>Only messages in this status.</summary>
    public MessageStatus? Status { get; init; }

    /// <summary>Only messages with this tag.</summary>
    public string? Tag { get; init; }

    /// <summary>Only messages with this envelope recipient.</summary>
    public string? Recipient { get; init; }

    /// <summary>Only messages with this envelope sender.</summary>
    public string? From { get; init; }

    /// <summary>Only messages accepted at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only messages accepted before this time.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>The previous page's <see cref="MessagePage.NextCursor"/>.</summary>
    public string? Cursor { get; init; }

    /// <summary>Page size, 1-100 (the gateway's default 50).</summary>
    public int? Limit { get; init; }
}

/// <summary>One page of <see cref="MessagesClient.ListAsync"/>.</summary>
public sealed class MessagePage
{
    /// <summary>The messages, newest first.</summary>
    public IReadOnlyList<MessageSummary> Items { get => field ?? []; init; }

    /// <summary>The cursor of the next page; null on the last page.</summary>
    public string? NextCursor { get; init; }
}

/// <summary>One message of a list page (the full status: <see cref="MessagesClient.GetAsync"/>).</summary>
public sealed class MessageSummary
{
    /// <summary>The message id.</summary>
    public string Id { get; init; } = "";

    /// <summary>The status.</summary>
    public MessageStatus Status { get; init; }

    /// <summary>The id of the API key that sent it.</summary>
    public string ApiKey { get; init; } = "";

    /// <summary>When the gateway accepted it.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When its status last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The envelope sender.</summary>
    public string? From { get; init; }

    /// <summary>The envelope recipients.</summary>
    public IReadOnlyList<string> Recipients { get => field ?? []; init; }

    /// <summary>The tags.</summary>
    public IReadOnlyList<string> Tags { get => field ?? []; init; }

    /// <summary>The last reply or reason.</summary>
    public string? LastReply { get; init; }
}
