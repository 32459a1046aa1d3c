using System.Security.Cryptography;
using System.Text.Json;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Submissions;
using Microsoft.AspNetCore.Http;

namespace MailGateway.Api;

/// <summary><c>POST /api/v1/messages/batch</c>: many messages, one result each, one durable commit where the store allows it.</summary>
public sealed partial class MessagesApi
{
    /// <summary>The most messages one batch request may carry.</summary>
    public const int MaxBatchMessages = 500;

    /// <summary>
    /// <c>POST /api/v1/messages/batch</c>: <c>{"messages": [{"idempotencyKey": "…", "message": {…}}, …]}</c>. Each
    /// item is validated and composed like a single send; the valid ones are accepted in one call of the accept port
    /// (SQLite: one transaction, one fsync). The answer is 200 with one result per item, in order.
    /// </summary>
    public async Task<IResult> SendBatchAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var options = _options.CurrentValue;
        if (!TryAuthorize(request, ApiKeyScopes.Send, orAdmin: false, out var caller, out var refusal))
        {
            return refusal;
        }

        if (!request.HasJsonContentType())
        {
            return ApiResults.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Send the batch as JSON with 'Content-Type: application/json'.");
        }

        if (request.ContentLength > options.MaxRequestBodyBytes)
        {
            return TooLarge(options.MaxRequestBodyBytes);
        }

        var (body, bodyError) = await ReadBodyAsync(context, options.MaxRequestBodyBytes);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (!TryDeserialize(body, ApiJsonContext.Default.SendBatchRequest, out var dto, out var jsonError))
        {
            return jsonError;
        }

        if (dto?.Messages is not { Count: > 0 } items)
        {
            return ApiResults.ValidationProblem([new FieldError("messages", ValidationCodes.Required, "A batch lists 1 or more messages.")]);
        }

        if (items.Count > MaxBatchMessages)
        {
            return ApiResults.ValidationProblem([new FieldError("messages", ApiErrorCodes.TooManyMessages, $"A batch lists at most {MaxBatchMessages} messages.")]);
        }

        var results = new BatchItemResult?[items.Count];
        var submissions = new List<(int Index, SubmissionRequest Request)>();
        var now = _time.GetUtcNow();
        for (var i = 0; i < items.Count; i++)
        {
            var prefix = $"messages[{i}]";
            var item = items[i];
            if (item?.Message is null)
            {
                results[i] = Refused(i, StatusCodes.Status400BadRequest, [new FieldError(prefix + ".message", ValidationCodes.Required, "Each item has a message.")]);
                continue;
            }

            var key = item.IdempotencyKey;
            if (key is not null && (key.Length is 0 or > MaxIdempotencyKeyLength || key.Any(c => c is < ' ' or > '~')))
            {
                results[i] = Refused(i, StatusCodes.Status400BadRequest, [new FieldError(prefix + ".idempotencyKey", ApiErrorCodes.InvalidIdempotencyKey,
                    $"An idempotency key is 1-{MaxIdempotencyKeyLength} printable ASCII characters.")]);
                continue;
            }

            var (message, mappingErrors) = RequestMapper.ToMessage(item.Message, now);
            if (message is null)
            {
                results[i] = Refused(i, StatusCodes.Status400BadRequest, [.. mappingErrors.Select(e => e with { Field = Prefixed(prefix, e.Field) })]);
                continue;
            }

            submissions.Add((i, new SubmissionRequest
            {
                Sender = caller,
                Message = message,
                SendAt = item.Message.SendAt,
                ExpiresAt = item.Message.ExpiresAt,
                IdempotencyKey = key,
                RequestHash = Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(item.Message, ApiJsonContext.Default.SendMessageRequest))),
                InputErrors = [.. mappingErrors.Select(e => new ValidationError(e.Field, e.Code, e.Message))],
            }));
        }

        if (submissions.Count > 0)
        {
            // Not tied to the connection, as for a single send.
            var submitted = await _submission.SubmitBatchAsync([.. submissions.Select(s => s.Request)], CancellationToken.None);
            for (var j = 0; j < submissions.Count; j++)
            {
                var index = submissions[j].Index;
                results[index] = ItemResult(index, $"messages[{index}].message", submitted[j]);
            }
        }

        var all = results.Select(r => r!).ToList();
        if (all.All(r => r.Status == StatusCodes.Status503ServiceUnavailable))
        {
            return Unavailable(AcceptResult.NothingAccepted);
        }

        var accepted = all.Count(r => r.Status == StatusCodes.Status202Accepted);
        return ApiResults.Json(new SendBatchResponse(accepted, all.Count - accepted, all), ApiJsonContext.Default.SendBatchResponse, StatusCodes.Status200OK);
    }

    private BatchItemResult ItemResult(int index, string prefix, SubmissionResult result)
    {
        switch (result.Outcome)
        {
            case SubmissionOutcome.Accepted or SubmissionOutcome.Replayed:
                _metrics.Accepted(replayed: result.Outcome == SubmissionOutcome.Replayed);
                return new BatchItemResult(index, StatusCodes.Status202Accepted, result.MessageId, result.Scheduled ? "scheduled" : "queued", null, null);
            case SubmissionOutcome.Invalid:
                return Refused(index, StatusCodes.Status400BadRequest, [.. (result.Errors ?? []).Select(e => new FieldError(Prefixed(prefix, e.Field), e.Code, e.Message))]);
            case SubmissionOutcome.SenderNotAllowed:
                return Refused(index, StatusCodes.Status403Forbidden, [new FieldError(prefix + ".from.address", ApiErrorCodes.SenderNotAllowed, "The sender's domain is not one this API key may use.")]);
            case SubmissionOutcome.TooLarge:
                return Refused(index, StatusCodes.Status413RequestEntityTooLarge, [.. (result.Errors ?? []).Select(e => new FieldError(Prefixed(prefix, e.Field), e.Code, e.Message))]);
            case SubmissionOutcome.KeyReused:
                return Refused(index, StatusCodes.Status422UnprocessableEntity, [new FieldError($"messages[{index}].idempotencyKey", ApiErrorCodes.IdempotencyKeyReused, "The key was first used with a different message.")]);
            default:
                _metrics.Refused(StatusCodes.Status503ServiceUnavailable);
                return new BatchItemResult(index, StatusCodes.Status503ServiceUnavailable, null, null, null, result.Reason ?? AcceptResult.NothingAccepted);
        }
    }

    private BatchItemResult Refused(int index, int status, IReadOnlyList<FieldError> errors)
    {
        _metrics.Refused(status);
        return new BatchItemResult(index, status, null, null, errors, null);
    }

    private static string Prefixed(string prefix, string field) => field.Length == 0 ? prefix : $"{prefix}.{field}";
}
