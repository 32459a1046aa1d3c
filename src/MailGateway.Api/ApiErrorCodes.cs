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

    /// <summary>Every code an answer of the API can carry in <c>errors[].code</c>: Core's validation codes and the API's own, sorted.</summary>
    public static IReadOnlyList<string> All { get; } =
        [.. new[] { typeof(ValidationCodes), typeof(ApiErrorCodes) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
}
