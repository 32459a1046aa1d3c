using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailGateway.Client;

/// <summary>
/// The status of a message: <c>queued</c>, <c>scheduled</c>, <c>sending</c>, <c>delivered</c>, <c>deferred</c>,
/// <c>failed</c>, <c>expired</c>, <c>unknown</c>, <c>canceled</c>. An extensible value rather than a C# enum: a status
/// that a newer gateway adds is kept as its string instead of breaking this client; compare with the
/// static properties, or switch on <see cref="ToString"/>.
/// </summary>
[JsonConverter(typeof(WireValueConverter<MessageStatus>))]
public readonly struct MessageStatus : IEquatable<MessageStatus>, IWireValue<MessageStatus>
{
    private readonly string? _value;

    /// <summary>Wraps a status string as the gateway sends it.</summary>
    public MessageStatus(string value) => _value = WireValue.Check(value);

    /// <summary>Accepted, waiting for its first attempt.</summary>
    public static MessageStatus Queued { get; } = new("queued");

    /// <summary>Accepted with a <c>sendAt</c> in the future.</summary>
    public static MessageStatus Scheduled { get; } = new("scheduled");

    /// <summary>A worker is delivering it now.</summary>
    public static MessageStatus Sending { get; } = new("sending");

    /// <summary>The relay accepted it.</summary>
    public static MessageStatus Delivered { get; } = new("delivered");

    /// <summary>A transient reply or network error; <c>nextAttemptAt</c> says when it is retried.</summary>
    public static MessageStatus Deferred { get; } = new("deferred");

    /// <summary>A permanent reply, or the stored content was lost.</summary>
    public static MessageStatus Failed { get; } = new("failed");

    /// <summary>Not delivered within the gateway's maximum age or before <c>expiresAt</c>.</summary>
    public static MessageStatus Expired { get; } = new("expired");

    /// <summary>The connection was lost after the final dot: the relay may have the message.</summary>
    public static MessageStatus Unknown { get; } = new("unknown");

    /// <summary>Canceled by an operator before an attempt started; never sent.</summary>
    public static MessageStatus Canceled { get; } = new("canceled");

    /// <summary>Every recipient is on the key's suppression list: never sent, the relay was not contacted.</summary>
    public static MessageStatus Suppressed { get; } = new("suppressed");

    /// <summary>True for a status after which the gateway does nothing more with the message (delivered, failed, expired, unknown, canceled, suppressed).</summary>
    public bool IsFinal => this == Delivered || this == Failed || this == Expired || this == Unknown || this == Canceled || this == Suppressed;

    /// <summary>Equality by the status string (ordinal, ignoring case).</summary>
    public static bool operator ==(MessageStatus left, MessageStatus right) => left.Equals(right);

    /// <summary>Inequality by the status string.</summary>
    public static bool operator !=(MessageStatus left, MessageStatus right) => !left.Equals(right);

    static MessageStatus IWireValue<MessageStatus>.FromWire(string value) => new(value);

    /// <inheritdoc />
    public bool Equals(MessageStatus other) => WireValue.Equals(_value, other._value);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is MessageStatus other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => WireValue.GetHashCode(_value);

    /// <summary>The status string as the gateway sends it.</summary>
    public override string ToString() => _value ?? "";
}

/// <summary>
/// The latest state of one recipient: <c>delivered</c>, <c>deferred</c>, <c>failed</c>, <c>unknown</c>; extensible
/// like <see cref="MessageStatus"/>.
/// </summary>
[JsonConverter(typeof(WireValueConverter<RecipientStatus>))]
public readonly struct RecipientStatus : IEquatable<RecipientStatus>, IWireValue<RecipientStatus>
{
    private readonly string? _value;

    /// <summary>Wraps a status string as the gateway sends it.</summary>
    public RecipientStatus(string value) => _value = WireValue.Check(value);

    /// <summary>Accepted by the relay.</summary>
    public static RecipientStatus Delivered { get; } = new("delivered");

    /// <summary>Not yet delivered; a later attempt retries it.</summary>
    public static RecipientStatus Deferred { get; } = new("deferred");

    /// <summary>Permanently refused.</summary>
    public static RecipientStatus Failed { get; } = new("failed");

    /// <summary>Its transaction's final reply was lost.</summary>
    public static RecipientStatus Unknown { get; } = new("unknown");

    /// <summary>On the key's suppression list: not sent.</summary>
    public static RecipientStatus Suppressed { get; } = new("suppressed");

    /// <summary>The relay took it, then a delivery status notification reported it failed.</summary>
    public static RecipientStatus Bounced { get; } = new("bounced");

    /// <summary>Equality by the status string (ordinal, ignoring case).</summary>
    public static bool operator ==(RecipientStatus left, RecipientStatus right) => left.Equals(right);

    /// <summary>Inequality by the status string.</summary>
    public static bool operator !=(RecipientStatus left, RecipientStatus right) => !left.Equals(right);

    static RecipientStatus IWireValue<RecipientStatus>.FromWire(string value) => new(value);

    /// <inheritdoc />
    public bool Equals(RecipientStatus other) => WireValue.Equals(_value, other._value);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RecipientStatus other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => WireValue.GetHashCode(_value);

    /// <summary>The status string as the gateway sends it.</summary>
    public override string ToString() => _value ?? "";
}

/// <summary>
/// The outcome of one delivery attempt: <c>delivered</c>, <c>deferred</c>, <c>failed</c>, <c>unknown</c>; extensible
/// like <see cref="MessageStatus"/>.
/// </summary>
[JsonConverter(typeof(WireValueConverter<AttemptOutcome>))]
public readonly struct AttemptOutcome : IEquatable<AttemptOutcome>, IWireValue<AttemptOutcome>
{
    private readonly string? _value;

    /// <summary>Wraps an outcome string as the gateway sends it.</summary>
    public AttemptOutcome(string value) => _value = WireValue.Check(value);

    /// <summary>The relay accepted the message for every recipient it did not refuse permanently.</summary>
    public static AttemptOutcome Delivered { get; } = new("delivered");

    /// <summary>A transient reply or a network failure before the end of DATA.</summary>
    public static AttemptOutcome Deferred { get; } = new("deferred");

    /// <summary>A permanent reply or a configuration error.</summary>
    public static AttemptOutcome Failed { get; } = new("failed");

    /// <summary>The connection was lost after the final dot.</summary>
    public static AttemptOutcome Unknown { get; } = new("unknown");

    /// <summary>Equality by the outcome string (ordinal, ignoring case).</summary>
    public static bool operator ==(AttemptOutcome left, AttemptOutcome right) => left.Equals(right);

    /// <summary>Inequality by the outcome string.</summary>
    public static bool operator !=(AttemptOutcome left, AttemptOutcome right) => !left.Equals(right);

    static AttemptOutcome IWireValue<AttemptOutcome>.FromWire(string value) => new(value);

    /// <inheritdoc />
    public bool Equals(AttemptOutcome other) => WireValue.Equals(_value, other._value);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is AttemptOutcome other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => WireValue.GetHashCode(_value);

    /// <summary>The outcome string as the gateway sends it.</summary>
    public override string ToString() => _value ?? "";
}

/// <summary>A string-valued wire type that tolerates values this client does not know.</summary>
internal interface IWireValue<TSelf>
    where TSelf : struct, IWireValue<TSelf>
{
    static abstract TSelf FromWire(string value);
}

internal static class WireValue
{
    public static string Check(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return value;
    }

    public static bool Equals(string? left, string? right) => string.Equals(left, right, StringComparison.OrdinalIgnoreCase);

    public static int GetHashCode(string? value) => value is null ? 0 : StringComparer.OrdinalIgnoreCase.GetHashCode(value);
}

/// <summary>Reads and writes a wire value as its string; an unknown string is kept, never an error.</summary>
internal sealed class WireValueConverter<T> : JsonConverter<T>
    where T : struct, IWireValue<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && reader.GetString() is { Length: > 0 } value
            ? T.FromWire(value)
            : throw new JsonException($"Expected a non-empty string for {typeof(T).Name}.");

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
