using System.Security.Cryptography;
using System.Text.Json;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
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
    private readonly MessageValidator _validator;
    private readonly MessageComposer _composer;
    private readonly IMessageContentStore _content;
    private readonly IMessageStatusStore _status;
    private readonly IDeliveryQueue _queue;
    private readonly IMessageIntake? _intake;
    private readonly ApiMetrics _metrics;
    private readonly IOptionsMonitor<ApiOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MessagesApi> _logger;

    /// <summary>Creates the API.</summary>
    public MessagesApi(
        ApiKeyAuthenticator authenticator,
        MessageValidator validator,
        MessageComposer composer,
        IMessageContentStore content,
        IMessageStatusStore status,
        IDeliveryQueue queue,
        IOptionsMonitor<ApiOptions> options,
        TimeProvider time,
        ILogger<MessagesApi> logger,
        ApiMetrics metrics,
        IEnumerable<IMessageIntake> intake)
    {
        _metrics = metrics;
        ArgumentNullException.ThrowIfNull(intake);
        _intake = intake.FirstOrDefault();
        _authenticator = authenticator;
        _validator = validator;
        _composer = composer;
        _content = content;
        _status = status;
        _queue = queue;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary><c>POST /api/v1/messages</c>: validate, store durably, enqueue, answer 202.</summary>
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

        var caller = _authenticator.Authenticate(request);
        if (caller is null)
        {
            return Unauthorized();
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
            return ValidationProblem([new FieldError("Idempotency-Key", "invalid_idempotency_key",
                $"An Idempotency-Key is 1-{MaxIdempotencyKeyLength} printable ASCII characters.")]);
        }

        var (body, bodyError) = await ReadBodyAsync(context, options.MaxRequestBodyBytes);
        if (bodyError is not null)
        {
            return bodyError;
        }

        SendMessageRequest? dto;
        try
        {
            dto = JsonSerializer.Deserialize(body.Span, ApiJsonContext.Default.SendMessageRequest);
        }
        catch (JsonException ex)
        {
            var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "" : ex.Path.TrimStart('$').TrimStart('.');
            return ex is OffsetRequiredException
                ? ValidationProblem([new FieldError(path, ValidationCodes.OffsetRequired, new OffsetRequiredException().Message)])
                : ValidationProblem([new FieldError(path, "invalid_json", JsonErrorMessage(ex))]);
        }

        if (dto is null)
        {
            return ValidationProblem([new FieldError("", "invalid_json", "The body must be a JSON object.")]);
        }

        var now = _time.GetUtcNow();
        var (message, errors) = RequestMapper.ToMessage(dto, now);
        if (message is not null)
        {
            errors.AddRange(_validator.Validate(message).Select(e => new FieldError(e.Field, e.Code, e.Message)));
        }

        if (errors.Count > 0 || message is null)
        {
            return ValidationProblem(errors);
        }

        if (!caller.MaySendFrom(message.From.Address))
        {
            LogSenderRefused(caller.Id);
            return ApiResults.Problem(StatusCodes.Status403Forbidden, "Sender not allowed",
                "This API key may not send from the domain of 'from'.",
                [new FieldError("from.address", "sender_not_allowed", "The sender's domain is not one this API key may use.")]);
        }

        var id = Guid.CreateVersion7(now).ToString("N");
        ComposedMessage composed;
        try
        {
            composed = _composer.Compose(message, id);
        }
        catch (MessageCompositionException ex)
        {
            return ValidationProblem([new FieldError(ex.Error.Field, ex.Error.Code, ex.Error.Message)]);
        }

        if (_validator.CheckComposedSize(composed.Bytes.LongLength) is { } tooLarge)
        {
            return ApiResults.Problem(StatusCodes.Status413RequestEntityTooLarge, "Message too large", tooLarge.Message,
                [new FieldError(tooLarge.Field, tooLarge.Code, tooLarge.Message)]);
        }

        var requestHash = Convert.ToHexStringLower(SHA256.HashData(body.Span));
        return await AcceptAsync(caller, message, composed, id, dto, requestHash, idempotencyKey.Length > 0 ? idempotencyKey : null, now);
    }

    /// <summary><c>GET /api/v1/messages/{id}</c>: the status of a message sent with the same API key.</summary>
    public async Task<IResult> GetAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        var caller = _authenticator.Authenticate(context.Request);
        if (caller is null)
        {
            return Unauthorized();
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

        if (record is null || !string.Equals(record.Owner, caller.Id, StringComparison.Ordinal))
        {
            return ApiResults.Problem(StatusCodes.Status404NotFound, "Not found", "No message with this id was sent with this API key.");
        }

        return ApiResults.Json(StatusMapper.ToResponse(record), ApiJsonContext.Default.MessageStatusResponse, StatusCodes.Status200OK);
    }

    private async Task<IResult> AcceptAsync(ApiCaller caller, OutboundMessage message, ComposedMessage composed, string id, SendMessageRequest dto, string requestHash, string? idempotencyKey, DateTimeOffset now)
    {
        // From here on the work is not tied to the client's connection: a request cancelled between recording the
        // message and enqueuing its job would leave a record without a job.
        var cancellationToken = CancellationToken.None;
        var scheduled = dto.SendAt is { } sendAt && sendAt > now;
        string? reference = null;
        CreateMessageResult created;

        // An intake that stores the content itself (the embedded SQLite one) writes content, record and job in one
        // transaction; otherwise the content is saved first and a failure afterwards deletes it again.
        var inlineReference = _intake?.ContentReferenceFor(id);
        try
        {
            reference = inlineReference ?? await _content.SaveAsync(id, composed.Bytes, cancellationToken);
            var record = new MessageRecord
            {
                Id = id,
                Owner = caller.Id,
                State = scheduled ? MessageState.Scheduled : MessageState.Queued,
                CreatedAt = now,
                UpdatedAt = now,
                SendAt = dto.SendAt,
                ExpiresAt = dto.ExpiresAt,
                NextAttemptAt = scheduled ? dto.SendAt : null,
                Tags = message.Tags,
                Metadata = message.Metadata,
            };
            var claim = idempotencyKey is null ? null : new IdempotencyClaim(caller.Id, idempotencyKey, requestHash, now);
            var job = Job(id, reference, composed, dto, now);
            var notBefore = scheduled ? dto.SendAt : null;
            if (_intake is not null && inlineReference is not null)
            {
                created = await _intake.CreateAndEnqueueAsync(record, claim, job, notBefore, composed.Bytes, cancellationToken);
            }
            else if (_intake is not null)
            {
                created = await _intake.CreateAndEnqueueAsync(record, claim, job, notBefore, cancellationToken);
            }
            else
            {
                created = await _status.CreateAsync(record, claim, cancellationToken);
                if (created.Created)
                {
                    await _queue.EnqueueAsync(job, notBefore, cancellationToken);
                }
            }

            if (created.Created)
            {
                LogAccepted(id, caller.Id, composed.Bytes.Length);
                _metrics.Accepted(replayed: false);
                return Accepted(id, scheduled);
            }
        }
        catch (Exception ex)
        {
            LogStoreUnavailable(ex);
            if (reference is not null && inlineReference is null)
            {
                await DeleteQuietlyAsync(reference);
            }

            return Unavailable("The queue or the message store is unavailable; nothing was accepted.");
        }

        // The idempotency key was used before (or by a request racing with this one).
        try
        {
            if (inlineReference is null)
            {
                await _content.DeleteAsync(reference!, cancellationToken);
            }

            if (!string.Equals(created.RequestHash, requestHash, StringComparison.Ordinal))
            {
                return ApiResults.Problem(StatusCodes.Status422UnprocessableEntity, "Idempotency key reused",
                    "This Idempotency-Key was used with a different request body.",
                    [new FieldError("Idempotency-Key", "idempotency_key_reused", "The key was first used with a different body.")]);
            }

            var existing = await _status.GetAsync(created.MessageId, cancellationToken);
            if (existing is null)
            {
                return Unavailable("The status store is unavailable.");
            }

            if (existing.State is MessageState.Queued or MessageState.Scheduled)
            {
                // The first request may have stopped between recording the message and enqueuing its job; enqueuing
                // the first attempt again is a no-op when the job exists, and the ledger stops a second send.
                var again = _composer.Compose(message, existing.Id);
                var againReference = await _content.SaveAsync(existing.Id, again.Bytes, cancellationToken);
                await _queue.EnqueueAsync(Job(existing.Id, againReference, again, dto, existing.CreatedAt), existing.State == MessageState.Scheduled ? existing.SendAt : null, cancellationToken);
            }

            LogReplayed(existing.Id, caller.Id);
            _metrics.Accepted(replayed: true);
            return Accepted(existing.Id, existing.SendAt is { } s && s > existing.CreatedAt);
        }
        catch (Exception ex)
        {
            LogStoreUnavailable(ex);
            return Unavailable("The queue or the message store is unavailable.");
        }
    }

    private async Task DeleteQuietlyAsync(string reference)
    {
        try
        {
            await _content.DeleteAsync(reference, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The store is failing anyway; an orphaned file is harmless (never referenced by a job).
            LogStoreUnavailable(ex);
        }
    }

    private static DeliveryJob Job(string id, string reference, ComposedMessage composed, SendMessageRequest dto, DateTimeOffset acceptedAt) => new()
    {
        MessageId = id,
        ContentReference = reference,
        MailFrom = composed.Envelope.MailFrom,
        Recipients = composed.Envelope.Recipients,

        // The maximum-age clock starts when the message is due, not when it was scheduled.
        FirstSeen = dto.SendAt is { } sendAt && sendAt > acceptedAt ? sendAt : acceptedAt,
        ExpiresAt = dto.ExpiresAt,
    };

    private static IResult Accepted(string id, bool scheduled) =>
        ApiResults.Json(new AcceptedMessageResponse(id, scheduled ? "scheduled" : "queued"), ApiJsonContext.Default.AcceptedMessageResponse,
            StatusCodes.Status202Accepted, $"{MessagesPath}/{id}");

    private async Task<(ReadOnlyMemory<byte> Body, IResult? Error)> ReadBodyAsync(HttpContext context, long max)
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
        var chunk = new byte[16 * 1024];
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

    private static IResult ValidationProblem(IReadOnlyList<FieldError> errors) =>
        ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid request", $"The request has {errors.Count} problem(s); see errors.", errors);

    private static IResult Unauthorized() =>
        ApiResults.Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
            "Send a valid API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
            headers: new Dictionary<string, string> { ["WWW-Authenticate"] = "Bearer realm=\"MailGateway\"" });

    private static IResult TooLarge(long max) =>
        ApiResults.Problem(StatusCodes.Status413RequestEntityTooLarge, "Request too large", $"The request body is larger than {max} bytes.");

    private IResult Unavailable(string detail) =>
        ApiResults.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", detail,
            headers: new Dictionary<string, string> { ["Retry-After"] = ((int)Math.Ceiling(_options.CurrentValue.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) });

    [LoggerMessage(Level = LogLevel.Information, Message = "Accepted message {MessageId} from key {KeyId} ({Bytes} bytes)")]
    private partial void LogAccepted(string messageId, string keyId, int bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed the answer for message {MessageId} to key {KeyId} (same Idempotency-Key and body)")]
    private partial void LogReplayed(string messageId, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {KeyId} tried to send from a domain it may not use")]
    private partial void LogSenderRefused(string keyId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The queue or a store is unavailable")]
    private partial void LogStoreUnavailable(Exception exception);
}
