using System.Net;

namespace MailGateway.Client;

/// <summary>
/// An RFC 9457 problem as the gateway answers it (<c>application/problem+json</c>): <c>type</c>, <c>title</c>,
/// <c>status</c>, <c>detail</c>, <c>instance</c>, <c>traceId</c> and, for field problems, every field error.
/// </summary>
public sealed class MailGatewayProblem
{
    /// <summary>A URI reference naming the problem type.</summary>
    public string? Type { get; init; }

    /// <summary>A short summary, e.g. <c>Invalid request</c>.</summary>
    public string? Title { get; init; }

    /// <summary>The HTTP status code.</summary>
    public int? Status { get; init; }

    /// <summary>What went wrong, for a person.</summary>
    public string? Detail { get; init; }

    /// <summary>The request path the problem is about.</summary>
    public string? Instance { get; init; }

    /// <summary>The gateway's trace id of the request (quote it when asking an operator).</summary>
    public string? TraceId { get; init; }

    /// <summary>Every field error (empty when the problem is not about fields).</summary>
    public IReadOnlyList<FieldError> Errors { get => field ?? []; init; }
}

/// <summary>One field error inside a problem, e.g. <c>{"field": "to[0]", "code": "invalid_address", "message": "…"}</c>.</summary>
/// <param name="Field">The JSON path of the field (<c>to[0]</c>, <c>attachments[1].content</c>), a header name (<c>Idempotency-Key</c>) or a component (<c>queue</c>).</param>
/// <param name="Code">The stable code to branch on (<c>invalid_address</c>, <c>sender_not_allowed</c>, <c>message_too_large</c>, …).</param>
/// <param name="Message">What is wrong, for a person.</param>
public sealed record FieldError(string Field, string Code, string Message);

/// <summary>
/// A call to the gateway failed: the gateway answered with an error (<see cref="StatusCode"/> and the
/// <see cref="Problem"/> it sent), or there was no answer at all (<see cref="StatusCode"/> 0: a network error or a
/// timeout, with the cause as <see cref="Exception.InnerException"/>). Thrown after the configured retries.
/// </summary>
public sealed class MailGatewayException : Exception
{
    /// <summary>Creates an exception (for tests of your own code).</summary>
    public MailGatewayException(string message, int statusCode = 0, MailGatewayProblem? problem = null, TimeSpan? retryAfter = null, string? idempotencyKey = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        Problem = problem;
        RetryAfter = retryAfter;
        IdempotencyKey = idempotencyKey;
    }

    /// <summary>Creates an exception without details.</summary>
    public MailGatewayException()
        : this("The MailGateway call failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public MailGatewayException(string message)
        : this(message, 0)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public MailGatewayException(string message, Exception innerException)
        : this(message, 0, innerException: innerException)
    {
    }

    /// <summary>The HTTP status of the answer, or 0 when there was none (network error, timeout).</summary>
    public int StatusCode { get; }

    /// <summary>The problem the gateway sent, or null (no answer, or an answer that was not problem+json, e.g. from a proxy).</summary>
    public MailGatewayProblem? Problem { get; }

    /// <summary>Every field error of the problem (empty when none).</summary>
    public IReadOnlyList<FieldError> Errors => Problem?.Errors ?? [];

    /// <summary>The problem's <c>type</c>.</summary>
    public string? Type => Problem?.Type;

    /// <summary>The problem's <c>title</c>.</summary>
    public string? Title => Problem?.Title;

    /// <summary>The problem's <c>detail</c>.</summary>
    public string? Detail => Problem?.Detail;

    /// <summary>The problem's <c>instance</c>.</summary>
    public string? Instance => Problem?.Instance;

    /// <summary>The problem's <c>traceId</c>.</summary>
    public string? TraceId => Problem?.TraceId;

    /// <summary>The answer's <c>Retry-After</c>, if it had one.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>
    /// The <c>Idempotency-Key</c> of the send that failed. Sending the same message again with this key (see
    /// <see cref="SendMessageOptions.IdempotencyKey"/>) can never deliver it twice.
    /// </summary>
    public string? IdempotencyKey { get; }

    /// <summary>
    /// True when trying again later may succeed: no answer, 408, 429, 502, 503, 504. A send that failed transiently
    /// is safe to repeat with the same <see cref="IdempotencyKey"/>.
    /// </summary>
    public bool IsTransient => StatusCode is 0 or (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests
        or (int)HttpStatusCode.BadGateway or (int)HttpStatusCode.ServiceUnavailable or (int)HttpStatusCode.GatewayTimeout;

    /// <summary>True for a 404: no such message, or it was sent with another API key.</summary>
    public bool IsNotFound => StatusCode == (int)HttpStatusCode.NotFound;

    /// <summary>True when any field error has <paramref name="code"/> (e.g. <c>invalid_address</c>).</summary>
    public bool HasErrorCode(string code) => Errors.Any(e => string.Equals(e.Code, code, StringComparison.Ordinal));
}
