namespace MailGateway.Core.Delivery;

/// <summary>How one delivery attempt ended.</summary>
public enum DeliveryOutcomeKind
{
    /// <summary>Every recipient that was not permanently refused was accepted by the relay.</summary>
    Delivered,

    /// <summary>A transient reply or a network failure before the end of DATA: try again later (for the deferred recipients).</summary>
    Deferred,

    /// <summary>A permanent reply, a configuration error (rejected credentials) or a message the relay can never take.</summary>
    Failed,

    /// <summary>The connection was lost after the final dot: the relay may have accepted the message.</summary>
    Unknown,
}

/// <summary>The state of one recipient after an attempt.</summary>
public enum RecipientState
{
    /// <summary>Accepted by the relay (the relay answered 250 to the final dot for a transaction that included it).</summary>
    Delivered,

    /// <summary>Not yet delivered; a later attempt should retry it.</summary>
    Deferred,

    /// <summary>Permanently refused.</summary>
    Failed,

    /// <summary>Its transaction's final reply was lost.</summary>
    Unknown,

    /// <summary>On the sender's suppression list: not sent, the relay was not contacted (final, like failed).</summary>
    Suppressed,

    /// <summary>Accepted by the relay, then a delivery status notification reported a permanent failure (final).</summary>
    Bounced,
}

/// <summary>An SMTP reply: the three-digit code, the enhanced status code when present, and the text.</summary>
public sealed record SmtpReply(int Code, string? EnhancedCode, string Text)
{
    /// <summary>True for 4xx.</summary>
    public bool IsTransient => Code is >= 400 and < 500;

    /// <summary>True for 5xx.</summary>
    public bool IsPermanent => Code is >= 500 and < 600;

    /// <inheritdoc />
    public override string ToString() => EnhancedCode is null ? $"{Code} {Text}" : $"{Code} {EnhancedCode} {Text}";
}

/// <summary>What happened to one recipient.</summary>
public sealed record RecipientResult(string Address, RecipientState State, SmtpReply? Reply);

/// <summary>The value a delivery attempt ends with: never an exception for an expected failure.</summary>
public sealed record DeliveryOutcome
{
    /// <summary>The overall verdict.</summary>
    public required DeliveryOutcomeKind Kind { get; init; }

    /// <summary>A short human-readable reason (the reply, the network error, "relay rejected credentials", …).</summary>
    public required string Reason { get; init; }

    /// <summary>The reply that decided the outcome, when the relay answered.</summary>
    public SmtpReply? Reply { get; init; }

    /// <summary>The relay port of the last connection used, if any connection was made.</summary>
    public int? Port { get; init; }

    /// <summary>The negotiated TLS protocol (e.g. <c>Tls13</c>), or null when the session was in clear.</summary>
    public string? TlsProtocol { get; init; }

    /// <summary>The negotiated TLS cipher suite, or null.</summary>
    public string? TlsCipherSuite { get; init; }

    /// <summary>Wall time of the attempt.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>One result per envelope recipient.</summary>
    public IReadOnlyList<RecipientResult> Recipients { get; init; } = [];

    /// <summary>The recipients a later attempt must retry.</summary>
    public IEnumerable<string> PendingRecipients => Recipients.Where(r => r.State == RecipientState.Deferred).Select(r => r.Address);

    /// <summary>
    /// The verdict of an attempt from the states of its recipients, the one rule the engine and the job handler share:
    /// any recipient still deferred makes it <see cref="DeliveryOutcomeKind.Deferred"/> (retry those), else any unknown
    /// one <see cref="DeliveryOutcomeKind.Unknown"/>, else any delivered one <see cref="DeliveryOutcomeKind.Delivered"/>
    /// (the refused ones are listed as failed), else <see cref="DeliveryOutcomeKind.Failed"/>.
    /// </summary>
    public static DeliveryOutcomeKind KindOf(IEnumerable<RecipientResult> recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        var any = (Deferred: false, Unknown: false, Delivered: false);
        foreach (var recipient in recipients)
        {
            switch (recipient.State)
            {
                case RecipientState.Deferred:
                    any.Deferred = true;
                    break;
                case RecipientState.Unknown:
                    any.Unknown = true;
                    break;
                case RecipientState.Delivered:
                    any.Delivered = true;
                    break;
            }
        }

        return any.Deferred ? DeliveryOutcomeKind.Deferred
            : any.Unknown ? DeliveryOutcomeKind.Unknown
            : any.Delivered ? DeliveryOutcomeKind.Delivered
            : DeliveryOutcomeKind.Failed;
    }

    /// <summary>The state of a recipient for which an attempt reported no result of its own: the attempt's verdict.</summary>
    public static RecipientState RecipientStateFor(DeliveryOutcomeKind kind) => kind switch
    {
        DeliveryOutcomeKind.Delivered => RecipientState.Delivered,
        DeliveryOutcomeKind.Failed => RecipientState.Failed,
        DeliveryOutcomeKind.Unknown => RecipientState.Unknown,
        _ => RecipientState.Deferred,
    };
}
