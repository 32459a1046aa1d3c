using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MailGateway.Client.Webhooks;

/// <summary>
/// Verifies webhooks signed per Standard Webhooks (standardwebhooks.com): the headers <c>webhook-id</c>,
/// <c>webhook-timestamp</c> (Unix seconds) and <c>webhook-signature</c> (<c>v1,&lt;base64 HMAC-SHA256 of
/// "id.timestamp.body"&gt;</c>, several separated by spaces), with secrets written <c>whsec_&lt;base64&gt;</c>. A
/// webhook is accepted when any <c>v1</c> signature matches any configured secret (several secrets cover a rotation)
/// and its timestamp is within <see cref="Tolerance"/> of now (a replay of an old delivery is refused). Signatures
/// are compared in constant time. Thread-safe; keep one instance.
/// </summary>
public sealed class WebhookVerifier
{
    /// <summary>The header with the delivery's id (the same on every retry of one event: de-duplicate on it).</summary>
    public const string IdHeader = "webhook-id";

    /// <summary>The header with the signing time, Unix seconds.</summary>
    public const string TimestampHeader = "webhook-timestamp";

    /// <summary>The header with the signatures.</summary>
    public const string SignatureHeader = "webhook-signature";

    /// <summary>The prefix of a Standard Webhooks secret.</summary>
    public const string SecretPrefix = "whsec_";

    private const int MaxIdLength = 256;
    private const int MaxSignatureHeaderLength = 8 * 1024;
    private const int HmacSize = 32;

    private readonly byte[][] _keys;
    private readonly TimeProvider _time;

    /// <summary>A verifier for one secret with the default tolerance of 5 minutes.</summary>
    /// <param name="secret">The endpoint's secret, <c>whsec_&lt;base64&gt;</c> (the base64 alone is accepted too).</param>
    public WebhookVerifier(string secret)
        : this([secret])
    {
    }

    /// <summary>A verifier for several secrets (during a rotation: the old and the new one).</summary>
    /// <param name="secrets">The secrets, <c>whsec_&lt;base64&gt;</c>; at least one.</param>
    /// <param name="tolerance">How far the timestamp may be from now, either way; default 5 minutes.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> by default.</param>
    public WebhookVerifier(IEnumerable<string> secrets, TimeSpan? tolerance = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        _keys = [.. secrets.Select(ParseSecret)];
        if (_keys.Length == 0)
        {
            throw new ArgumentException("At least one webhook secret is required.", nameof(secrets));
        }

        Tolerance = tolerance ?? DefaultTolerance;
        if (Tolerance <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), "The tolerance must be positive.");
        }

        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The default tolerance: 5 minutes, as Standard Webhooks recommends.</summary>
    public static TimeSpan DefaultTolerance { get; } = TimeSpan.FromMinutes(5);

    /// <summary>How far a webhook's timestamp may be from now, either way.</summary>
    public TimeSpan Tolerance { get; }

    /// <summary>Verifies a delivery: the three headers' values and the raw body bytes exactly as received.</summary>
    /// <returns>The verified webhook.</returns>
    /// <exception cref="WebhookVerificationException">A header is missing or malformed, the timestamp is outside the tolerance, or no signature matches.</exception>
    public MailGatewayWebhook Verify(string? webhookId, string? webhookTimestamp, string? webhookSignature, ReadOnlyMemory<byte> body) =>
        TryVerify(webhookId, webhookTimestamp, webhookSignature, body, out var webhook, out var failure)
            ? webhook
            : throw new WebhookVerificationException(failure);

    /// <summary>Verifies a delivery without throwing.</summary>
    /// <returns>True with the webhook, or false with the reason.</returns>
    public bool TryVerify(string? webhookId, string? webhookTimestamp, string? webhookSignature, ReadOnlyMemory<byte> body,
        [NotNullWhen(true)] out MailGatewayWebhook? webhook, out WebhookVerificationFailure failure)
    {
        webhook = null;
        if (string.IsNullOrEmpty(webhookId) || string.IsNullOrEmpty(webhookTimestamp) || string.IsNullOrEmpty(webhookSignature))
        {
            failure = WebhookVerificationFailure.MissingHeaders;
            return false;
        }

        if (webhookId.Length > MaxIdLength || webhookSignature.Length > MaxSignatureHeaderLength)
        {
            failure = WebhookVerificationFailure.MalformedHeaders;
            return false;
        }

        if (!long.TryParse(webhookTimestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            failure = WebhookVerificationFailure.InvalidTimestamp;
            return false;
        }

        var timestamp = DateTimeOffset.FromUnixTimeSeconds(seconds);
        var now = _time.GetUtcNow();
        if (timestamp < now - Tolerance)
        {
            failure = WebhookVerificationFailure.TimestampTooOld;
            return false;
        }

        if (timestamp > now + Tolerance)
        {
            failure = WebhookVerificationFailure.TimestampTooNew;
            return false;
        }

        Span<byte> expected = stackalloc byte[HmacSize];
        Span<byte> presented = stackalloc byte[HmacSize];
        foreach (var key in _keys)
        {
            Compute(key, webhookId, webhookTimestamp, body.Span, expected);
            foreach (var range in webhookSignature.AsSpan().Split(' '))
            {
                var candidate = webhookSignature.AsSpan()[range];

                // Other schemes (v1a: asymmetric) and malformed entries are skipped, never an error: a sender may add them.
                if (!candidate.StartsWith("v1,", StringComparison.Ordinal)
                    || !Convert.TryFromBase64Chars(candidate[3..], presented, out var written) || written != HmacSize)
                {
                    continue;
                }

                if (CryptographicOperations.FixedTimeEquals(expected, presented))
                {
                    webhook = new MailGatewayWebhook(webhookId, timestamp, body);
                    failure = default;
                    return true;
                }
            }
        }

        failure = WebhookVerificationFailure.NoValidSignature;
        return false;
    }

    /// <summary>
    /// The <c>webhook-signature</c> value for a delivery, signed with the first secret: for tests of your receiver,
    /// or for a sender of your own.
    /// </summary>
    public string Sign(string webhookId, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(webhookId);
        Span<byte> mac = stackalloc byte[HmacSize];
        Compute(_keys[0], webhookId, timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), body, mac);
        return "v1," + Convert.ToBase64String(mac);
    }

    /// <summary>A new random secret (32 bytes), <c>whsec_&lt;base64&gt;</c>.</summary>
    public static string GenerateSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static void Compute(byte[] key, string id, string timestamp, ReadOnlySpan<byte> body, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(Encoding.UTF8.GetBytes($"{id}.{timestamp}."));
        hmac.AppendData(body);
        hmac.GetHashAndReset(destination);
    }

    private static byte[] ParseSecret(string secret)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(secret);
        var base64 = secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret;
        try
        {
            var key = Convert.FromBase64String(base64);
            return key.Length > 0 ? key : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new ArgumentException("A webhook secret is 'whsec_' followed by base64.", nameof(secret));
        }
    }
}

/// <summary>Why a webhook was refused.</summary>
public enum WebhookVerificationFailure
{
    /// <summary><c>webhook-id</c>, <c>webhook-timestamp</c> or <c>webhook-signature</c> is missing or empty.</summary>
    MissingHeaders = 1,

    /// <summary>A header is longer than any genuine one (id over 256 characters, signatures over 8 KiB).</summary>
    MalformedHeaders,

    /// <summary><c>webhook-timestamp</c> is not Unix seconds.</summary>
    InvalidTimestamp,

    /// <summary>The timestamp is older than the tolerance: possibly a replay.</summary>
    TimestampTooOld,

    /// <summary>The timestamp is further in the future than the tolerance.</summary>
    TimestampTooNew,

    /// <summary>No <c>v1</c> signature matches any secret: a wrong secret or a changed body.</summary>
    NoValidSignature,

    /// <summary>The body is larger than the receiver accepts.</summary>
    BodyTooLarge,
}

/// <summary>A webhook was refused; <see cref="Failure"/> says why.</summary>
public sealed class WebhookVerificationException : Exception
{
    /// <summary>Creates the exception for a failure.</summary>
    public WebhookVerificationException(WebhookVerificationFailure failure)
        : base(Describe(failure)) => Failure = failure;

    /// <summary>Creates the exception (for serializers and tests).</summary>
    public WebhookVerificationException()
        : this(WebhookVerificationFailure.NoValidSignature)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public WebhookVerificationException(string message)
        : base(message) => Failure = WebhookVerificationFailure.NoValidSignature;

    /// <summary>Creates the exception with a message and a cause.</summary>
    public WebhookVerificationException(string message, Exception innerException)
        : base(message, innerException) => Failure = WebhookVerificationFailure.NoValidSignature;

    /// <summary>Why the webhook was refused.</summary>
    public WebhookVerificationFailure Failure { get; }

    private static string Describe(WebhookVerificationFailure failure) => failure switch
    {
        WebhookVerificationFailure.MissingHeaders => "The webhook-id, webhook-timestamp and webhook-signature headers are required.",
        WebhookVerificationFailure.MalformedHeaders => "A webhook header is too long.",
        WebhookVerificationFailure.InvalidTimestamp => "webhook-timestamp is not a Unix time in seconds.",
        WebhookVerificationFailure.TimestampTooOld => "webhook-timestamp is too old (a replayed delivery?).",
        WebhookVerificationFailure.TimestampTooNew => "webhook-timestamp is too far in the future.",
        WebhookVerificationFailure.BodyTooLarge => "The webhook body is too large.",
        _ => "No webhook signature matches.",
    };
}
