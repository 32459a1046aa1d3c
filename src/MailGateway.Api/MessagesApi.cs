using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Submissions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Api;

/// <summary>
/// The HTTP semantics of the gateway, implemented once. The standalone host maps these methods as endpoints
/// (<see cref="ApiEndpointRouteBuilderExtensions.MapMailGatewayApi"/>); the Azure Functions host calls them from its
/// HTTP triggers with the trigger's <see cref="HttpContext"/> and returns (or executes) the <see cref="IResult"/>.
/// </summary>
public sealed partial class MessagesApi
{
    /// <summary>The path of the messages resource.</summary>
    public const string MessagesPath = "/api/v1/messages";

    private const int MaxIdempotencyKeyLength = 255;

    private readonly ApiKeyAuthenticator _authenticator;
    private readonly MessageSubmission _submission;
    private readonly IMessageStatusStore _status;
    private readonly IMessageOperations _operations;
    private readonly IDeadLetterStore _deadLetters;
    private readonly ApiMetrics _metrics;
    private readonly IOptionsMonitor<ApiOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MessagesApi> _logger;

    /// <summary>Creates the API.</summary>
    public MessagesApi(
        ApiKeyAuthenticator authenticator,
        MessageSubmission submission,
        IMessageStatusStore status,
        IMessageOperations operations,
        IDeadLetterStore deadLetters,
        IOptionsMonitor<ApiOptions> options,
        TimeProvider time,
        ILogger<MessagesApi> logger,
        ApiMetrics metrics)
    {
        _metrics = metrics;
        _authenticator = authenticator;
        _submission = submission;
        _status = status;
        _operations = operations;
        _deadLetters = deadLetters;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary><c>POST /api/v1/messages</c>: read and map the request, submit it (validate, compose, store durably, enqueue), answer 202.</summary>
    public async Task<IResult> SendAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var result = await SendCoreAsync(context);
        if (result is IStatusCodeHttpResult { StatusCode: { } status } && status != StatusCodes.Status202Accepted)
        {
            _metrics.Refused(status);
        }

        return result;
    }

    private async Task<IResult> SendCoreAsync(HttpContext context)
    {
        var request = context.Request;
        var options = _options.CurrentValue;

        if (!TryAuthorize(request, ApiKeyScopes.Send, orAdmin: false, out var caller, out var refusal))
        {
            return refusal;
        }

        if (!request.HasJsonContentType())
        {
            return ApiResults.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Send the message as JSON with 'Content-Type: application/json'.");
        }

        if (request.ContentLength > options.MaxRequestBodyBytes)
        {
            return TooLarge(options.MaxRequestBodyBytes);
        }

        var idempotencyKey = request.Headers["Idempotency-Key"].ToString();
        if (idempotencyKey.Length > 0 && (idempotencyKey.Length > MaxIdempotencyKeyLength || idempotencyKey.Any(c => c is < ' ' or > '~')))
        {
            return ApiResults.ValidationProblem([new FieldError("Idempotency-Key", ApiErrorCodes.InvalidIdempotencyKey,
                $"An Idempotency-Key is 1-{MaxIdempotencyKeyLength} printable ASCII characters.")]);
        }

        var (body, bodyError) = await ReadBodyAsync(context, options.MaxRequestBodyBytes);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (!TryDeserialize(body, ApiJsonContext.Default.SendMessageRequest, out var dto, out var jsonError))
        {
            return jsonError;
        }

        if (dto is null)
        {
            return ApiResults.ValidationProblem([new FieldError("", ApiErrorCodes.InvalidJson, "The body must be a JSON object.")]);
        }

        var (message, mappingErrors) = RequestMapper.ToMessage(dto, _time.GetUtcNow());
        if (message is null)
        {
            return ApiResults.ValidationProblem(mappingErrors);
        }

        // From here on the work is not tied to the client's connection: a request cancelled between recording the
        // message and enqueuing its job would leave a record without a job.
        var submitted = await _submission.SubmitAsync(new SubmissionRequest
        {
            Sender = caller,
            Message = message,
            SendAt = dto.SendAt,
            ExpiresAt = dto.ExpiresAt,
            IdempotencyKey = idempotencyKey.Length > 0 ? idempotencyKey : null,
            RequestHash = Convert.ToHexStringLower(SHA256.HashData(body.Span)),
            InputErrors = [.. mappingErrors.Select(e => new ValidationError(e.Field, e.Code, e.Message))],
        }, CancellationToken.None);
        return Answer(submitted);
    }

    /// <summary>The HTTP answer of a submission's outcome.</summary>
    private IResult Answer(SubmissionResult result)
    {
        switch (result.Outcome)
        {
            case SubmissionOutcome.Accepted or SubmissionOutcome.Replayed:
                _metrics.Accepted(replayed: result.Outcome == SubmissionOutcome.Replayed);
                return Accepted(result.MessageId!, result.Scheduled);
            case SubmissionOutcome.Invalid:
                return ApiResults.ValidationProblem([.. (result.Errors ?? []).Select(e => new FieldError(e.Field, e.Code, e.Message))]);
            case SubmissionOutcome.SenderNotAllowed:
                return ApiResults.Problem(StatusCodes.Status403Forbidden, "Sender not allowed",
                    "This API key may not send from the domain of 'from'.",
                    [new FieldError("from.address", ApiErrorCodes.SenderNotAllowed, "The sender's domain is not one this API key may use.")]);
            case SubmissionOutcome.TooLarge:
                var tooLarge = result.Errors![0];
                return ApiResults.Problem(StatusCodes.Status413RequestEntityTooLarge, "Message too large", tooLarge.Message,
                    [new FieldError(tooLarge.Field, tooLarge.Code, tooLarge.Message)]);
            case SubmissionOutcome.KeyReused:
                return ApiResults.Problem(StatusCodes.Status422UnprocessableEntity, "Idempotency key reused",
                    "This Idempotency-Key was used with a different request body.",
                    [new FieldError("Idempotency-Key", ApiErrorCodes.IdempotencyKeyReused, "The key was first used with a different body.")]);
            default:
                return Unavailable(result.Reason ?? AcceptResult.NothingAccepted);
        }
    }

    /// <summary>
    /// <c>GET /api/v1/messages/{id}</c>: the status of a message sent with the same API key (scope <c>read</c>), or
    /// with any key (scope <c>admin</c>).
    /// </summary>
    public async Task<IResult> GetAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Read, orAdmin: false, out var caller, out var refusal))
        {
            return refusal;
        }

        MessageRecord? record;
        try
        {
            record = string.IsNullOrEmpty(id) || id.Length > 64 ? null : await _status.GetAsync(id, context.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStoreUnavailable(ex);
            return Unavailable("The status store is unavailable.");
        }

        if (record is null || !caller.MayAccess(record.Owner))
        {
            return MessageNotFound();
        }

        return ApiResults.Json(StatusMapper.ToResponse(record), ApiJsonContext.Default.MessageStatusResponse, StatusCodes.Status200OK);
    }

    private static IResult Accepted(string id, bool scheduled) =>
        ApiResults.Json(new AcceptedMessageResponse(id, scheduled ? "scheduled" : "queued"), ApiJsonContext.Default.AcceptedMessageResponse,
            StatusCodes.Status202Accepted, $"{MessagesPath}/{id}");

    internal static async Task<(ReadOnlyMemory<byte> Body, IResult? Error)> ReadBodyAsync(HttpContext context, long max)
    {
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            // The server enforces the limit while streaming too (chunked bodies have no Content-Length).
            sizeFeature.MaxRequestBodySize = max;
        }

        var length = context.Request.ContentLength;
        // Not disposed: the returned memory is its buffer (disposing a MemoryStream does not release the array anyway).
        var buffer = new MemoryStream(length is { } l && l <= max ? (int)l : 16 * 1024);
        // Pooled: a fresh 16 KiB array per request was most of the 18 % of an accept's allocated bytes spent here
        // (dotnet-trace; bench/README.md, "Peak RSS of the standalone host").
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > max)
                {
                    return (default, TooLarge(max));
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, TooLarge(max));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return (buffer.GetBuffer().AsMemory(0, (int)buffer.Length), null);
    }

    private static string JsonErrorMessage(JsonException ex)
    {
        var where = ex.LineNumber is { } line ? $" (line {line + 1}, position {ex.BytePositionInLine + 1})" : "";
        return ex.Message.Contains("could not be mapped", StringComparison.Ordinal)
            ? "Unknown property" + where + "."
            : ex.Message.Contains("could not be converted", StringComparison.Ordinal)
                ? "A value has the wrong type" + where + "."
                : "The body is not valid JSON for this request" + where + ".";
    }

    /// <summary>
    /// The one authorization rule of every endpoint: a known key (else 401) with <paramref name="scope"/>, or with
    /// <c>admin</c> where <paramref name="orAdmin"/> (acting on a message: one's own with the scope, any with admin);
    /// else 403 <c>missing_scope</c>. Which messages the key may see is <see cref="VerifiedApiKey.MayAccess"/>.
    /// </summary>
    private bool TryAuthorize(HttpRequest request, string scope, bool orAdmin,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out VerifiedApiKey? caller,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out IResult? refusal) =>
        TryAuthorize(_authenticator, request, scope, orAdmin, out caller, out refusal);

    /// <summary>The rule of <see cref="TryAuthorize(HttpRequest, string, bool, out VerifiedApiKey?, out IResult?)"/> for the other endpoint classes.</summary>
    internal static bool TryAuthorize(ApiKeyAuthenticator authenticator, HttpRequest request, string scope, bool orAdmin,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out VerifiedApiKey? caller,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out IResult? refusal)
    {
        ArgumentNullException.ThrowIfNull(authenticator);
        caller = authenticator.Authenticate(request);
        if (caller is null)
        {
            refusal = Unauthorized();
            return false;
        }

        if (!caller.Has(scope) && !(orAdmin && caller.Has(ApiKeyScopes.Admin)))
        {
            refusal = MissingScope(scope);
            caller = null;
            return false;
        }

        refusal = null;
        return true;
    }

    /// <summary>
    /// Reads a request body as <typeparamref name="T"/>; a body that is not that JSON is a 400 field error at the
    /// JSON path of the problem (<c>offset_required</c> for a date-time without an offset, else <c>invalid_json</c>).
    /// </summary>
    internal static bool TryDeserialize<T>(ReadOnlyMemory<byte> body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, out T? value,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out IResult? problem)
        where T : class
    {
        try
        {
            value = JsonSerializer.Deserialize(body.Span, type);
            problem = null;
            return true;
        }
        catch (JsonException ex)
        {
            var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "" : ex.Path.TrimStart('$').TrimStart('.');
            value = null;
            problem = ex is OffsetRequiredException
                ? ApiResults.ValidationProblem([new FieldError(path, ValidationCodes.OffsetRequired, new OffsetRequiredException().Message)])
                : ApiResults.ValidationProblem([new FieldError(path, ApiErrorCodes.InvalidJson, JsonErrorMessage(ex))]);
            return false;
        }
    }

    private static IResult Unauthorized() =>
        ApiResults.Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
            "Send a valid API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
            headers: new Dictionary<string, string> { ["WWW-Authenticate"] = "Bearer realm=\"MailGateway\"" });

    /// <summary>A message that does not exist and one of another key look the same to a key without <c>admin</c>.</summary>
    private static IResult MessageNotFound() =>
        ApiResults.Problem(StatusCodes.Status404NotFound, "Not found", "No message with this id was sent with this API key.");

    /// <summary>403 for a key without the scope an endpoint needs (<see cref="ApiKeyScopes"/>).</summary>
    internal static IResult MissingScope(string scope) =>
        ApiResults.Problem(StatusCodes.Status403Forbidden, "Missing scope", $"This API key does not have the '{scope}' scope.",
            [new FieldError("Authorization", ApiErrorCodes.MissingScope, $"The request needs an API key with the '{scope}' scope.")]);

    private static IResult TooLarge(long max) =>
        ApiResults.Problem(StatusCodes.Status413RequestEntityTooLarge, "Request too large", $"The request body is larger than {max} bytes.");

    private IResult Unavailable(string detail) =>
        ApiResults.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", detail,
            headers: new Dictionary<string, string> { ["Retry-After"] = ((int)Math.Ceiling(_options.CurrentValue.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) });

    [LoggerMessage(Level = LogLevel.Error, Message = "The queue or a store is unavailable")]
    private partial void LogStoreUnavailable(Exception exception);
}
