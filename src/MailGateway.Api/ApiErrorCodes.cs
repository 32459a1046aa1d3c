using System.Reflection;
using MailGateway.Core.Messages;

namespace MailGateway.Api;

/// <summary>
/// The field-error codes only the HTTP API reports (Core's message validation reports <see cref="ValidationCodes"/>).
/// The OpenAPI document lists both classes' constants as the values of <c>errors[].code</c>, so a code added here is
/// documented; the contract test fails if an answer carries a code that is in neither.
/// </summary>
public static class ApiErrorCodes
{
    /// <summary>The body is not JSON, not an object, has an unknown property or a value of the wrong type.</summary>
    public const string InvalidJson = "invalid_json";

    /// <summary>An attachment's content is not base64.</summary>
    public const string InvalidBase64 = "invalid_base64";

    /// <summary><c>expiresAt</c> is not in the future.</summary>
    public const string InThePast = "in_the_past";

    /// <summary><c>expiresAt</c> is not after <c>sendAt</c>.</summary>
    public const string BeforeSendAt = "before_send_at";

    /// <summary>The <c>Idempotency-Key</c> header is longer than 255 characters or not printable ASCII.</summary>
    public const string InvalidIdempotencyKey = "invalid_idempotency_key";

    /// <summary>The API key may not send from the domain of <c>from</c> (403).</summary>
    public const string SenderNotAllowed = "sender_not_allowed";

    /// <summary>The <c>Idempotency-Key</c> was first used with a different body (422).</summary>
    public const string IdempotencyKeyReused = "idempotency_key_reused";

    /// <summary>A dependency named in <c>field</c> is unreachable (<c>GET /readyz</c>, 503).</summary>
    public const string Unavailable = "unavailable";

    /// <summary>The API key lacks the scope the endpoint needs (403; <c>field</c> is <c>Authorization</c>).</summary>
    public const string MissingScope = "missing_scope";

    /// <summary>The message is not queued, scheduled or deferred, so it cannot be canceled (409).</summary>
    public const string NotCancelable = "not_cancelable";

    /// <summary>The dead letter cannot be replayed (unreadable job, no status record, or a job exists already; 409).</summary>
    public const string NotReplayable = "not_replayable";

    /// <summary>A query parameter the endpoint does not read.</summary>
    public const string UnknownParameter = "unknown_parameter";

    /// <summary>A query parameter given more than once (every endpoint that reads query parameters).</summary>
    public const string RepeatedParameter = "repeated_parameter";

    /// <summary><c>status</c> is not a state name.</summary>
    public const string InvalidStatus = "invalid_status";

    /// <summary><c>reason</c> is not a dead-letter reason.</summary>
    public const string InvalidReason = "invalid_reason";

    /// <summary><c>types</c> names an unknown event type, or is too long.</summary>
    public const string InvalidType = "invalid_type";

    /// <summary>A query value out of its form (e.g. a <c>tag</c> that is empty, too long or has control characters).</summary>
    public const string InvalidValue = "invalid_value";

    /// <summary>A <c>since</c>/<c>until</c> that is not an ISO 8601 date-time.</summary>
    public const string InvalidDateTime = "invalid_date_time";

    /// <summary><c>until</c> is not later than <c>since</c>.</summary>
    public const string BeforeSince = "before_since";

    /// <summary>A <c>cursor</c>/<c>after</c> that no earlier page returned.</summary>
    public const string InvalidCursor = "invalid_cursor";

    /// <summary>A <c>limit</c> that is not a whole number in range.</summary>
    public const string InvalidLimit = "invalid_limit";

    /// <summary>A batch with more than <see cref="MessagesApi.MaxBatchMessages"/> messages.</summary>
    public const string TooManyMessages = "too_many_messages";

    /// <summary>A <c>POST /api/v1/suppressions</c> with more than <see cref="SuppressionsApi.MaxAddresses"/> addresses.</summary>
    public const string TooManyAddresses = "too_many_addresses";

    /// <summary>A webhook <c>url</c> that is not https to a public address (or http to loopback in development), or over 2048 characters.</summary>
    public const string InvalidUrl = "invalid_url";

    /// <summary>The API key has <c>MaxEndpointsPerKey</c> webhook endpoints already (409).</summary>
    public const string TooManyWebhooks = "too_many_webhooks";

    /// <summary>The webhook endpoint is configured at start: the API cannot change, rotate or delete it (409).</summary>
    public const string ConfiguredWebhook = "configured_webhook";

    /// <summary>Every code an answer of the API can carry in <c>errors[].code</c>: Core's validation codes and the API's own, sorted.</summary>
    public static IReadOnlyList<string> All { get; } =
        [.. new[] { typeof(ValidationCodes), typeof(ApiErrorCodes) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
}
