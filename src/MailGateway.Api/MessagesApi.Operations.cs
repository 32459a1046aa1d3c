using System.Globalization;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Status;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MailGateway.Api;

/// <summary>The operator's endpoints on messages: the list (search, keyset pages) and cancel.</summary>
public sealed partial class MessagesApi
{
    /// <summary>The query parameters of <c>GET /api/v1/messages</c>; any other is refused (a typo is an error, not a silently wider list).</summary>
    public static readonly IReadOnlyList<string> ListParameters = ["status", "tag", "recipient", "from", "since", "until", "cursor", "limit"];

    private const int MaxTagParameterLength = 256;
    private const int MaxAddressParameterLength = 320;

    /// <summary>
    /// <c>GET /api/v1/messages</c>: the caller's messages (scope <c>read</c>) or every key's (scope <c>admin</c>),
    /// newest first, filtered, one page per call with an opaque cursor to the next.
    /// </summary>
    public async Task<IResult> ListAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Read, orAdmin: false, out var caller, out var refusal))
        {
            return refusal;
        }

        var (query, errors) = ParseListQuery(context.Request.Query);
        if (query is null)
        {
            return ApiResults.ValidationProblem(errors);
        }

        query = query with { Owner = caller.Has(ApiKeyScopes.Admin) ? null : caller.Id };
        MessagePage page;
        try
        {
            page = await _operations.ListAsync(query, context.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStoreUnavailable(ex);
            return Unavailable("The status store is unavailable.");
        }

        return ApiResults.Json(
            new MessageListResponse([.. page.Items.Select(StatusMapper.ToSummary)], page.Next?.Encode()),
            ApiJsonContext.Default.MessageListResponse, StatusCodes.Status200OK);
    }

    /// <summary>
    /// <c>POST /api/v1/messages/{id}/cancel</c>: a queued, scheduled or deferred message becomes <c>canceled</c> and
    /// is never sent; 409 in any other state. Scope <c>send</c> for the caller's own messages, <c>admin</c> for any.
    /// </summary>
    public async Task<IResult> CancelAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Send, orAdmin: true, out var caller, out var refusal))
        {
            return refusal;
        }

        CancelResult result;
        try
        {
            var record = string.IsNullOrEmpty(id) || id.Length > 64 ? null : await _status.GetAsync(id, context.RequestAborted);
            if (record is null || !caller.MayAccess(record.Owner))
            {
                return MessageNotFound();
            }

            // Not tied to the connection: once the cancel is decided, its answer is the only thing left to lose.
            result = await _operations.CancelAsync(id, $"Canceled with API key '{caller.Id}'.", CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStoreUnavailable(ex);
            return Unavailable("The status store is unavailable.");
        }

        switch (result.Outcome)
        {
            case CancelOutcome.Canceled:
                LogCanceled(id, caller.Id);
                return ApiResults.Json(StatusMapper.ToResponse(result.Record!), ApiJsonContext.Default.MessageStatusResponse, StatusCodes.Status200OK);
            case CancelOutcome.NotCancelable:
                var state = StatusMapper.Name(result.Record!.State);
                return ApiResults.Problem(StatusCodes.Status409Conflict, "Not cancelable",
                    $"The message is {state}; only queued, scheduled and deferred messages can be canceled.",
                    [new FieldError("status", ApiErrorCodes.NotCancelable, $"The message is {state}.")]);
            default:
                return MessageNotFound();
        }
    }

    /// <summary>Reads and validates the list's query string; every problem is reported at once.</summary>
    internal static (MessageQuery? Query, List<FieldError> Errors) ParseListQuery(IQueryCollection parameters)
    {
        var errors = QueryParameters.Check(parameters, ListParameters);
        string? Value(string name) => QueryParameters.Value(parameters, name);

        MessageState? state = null;
        if (Value("status") is { } status)
        {
            var match = Enum.GetValues<MessageState>().Where(s => StatusMapper.Name(s) == status).Select(s => (MessageState?)s).FirstOrDefault();
            if (match is null)
            {
                errors.Add(new FieldError("status", ApiErrorCodes.InvalidStatus,
                    $"One of {string.Join(", ", Enum.GetValues<MessageState>().Select(StatusMapper.Name))}."));
            }

            state = match;
        }

        var tag = Value("tag");
        if (tag is not null && (tag.Length is 0 or > MaxTagParameterLength || tag.Any(char.IsControl)))
        {
            errors.Add(new FieldError("tag", ApiErrorCodes.InvalidValue, $"A tag is 1-{MaxTagParameterLength} characters without control characters."));
        }

        var recipient = Address("recipient");
        var from = Address("from");
        var since = QueryParameters.Time(parameters, "since", errors);
        var until = QueryParameters.Time(parameters, "until", errors);
        if (since is { } s && until is { } u && u <= s)
        {
            errors.Add(new FieldError("until", ApiErrorCodes.BeforeSince, "'until' must be later than 'since'."));
        }

        MessageCursor? cursor = null;
        if (Value("cursor") is { } token && !MessageCursor.TryDecode(token, out cursor))
        {
            errors.Add(new FieldError("cursor", ApiErrorCodes.InvalidCursor, "Not a cursor from a previous page's nextCursor."));
        }

        var limit = MessageQuery.DefaultLimit;
        if (Value("limit") is { } text
            && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MessageQuery.MaxLimit))
        {
            errors.Add(new FieldError("limit", ApiErrorCodes.InvalidLimit, $"A whole number from 1 to {MessageQuery.MaxLimit} (default {MessageQuery.DefaultLimit})."));
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new MessageQuery
        {
            State = state,
            Tag = tag,
            Recipient = recipient,
            From = from,
            Since = since,
            Until = until,
            After = cursor,
            Limit = limit,
        }, errors);

        string? Address(string name)
        {
            var value = Value(name);
            if (value is not null && (value.Length > MaxAddressParameterLength || value.IndexOf('@', StringComparison.Ordinal) <= 0 || value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
            {
                errors.Add(new FieldError(name, ValidationCodes.InvalidAddress, $"An email address of at most {MaxAddressParameterLength} characters."));
                return null;
            }

            return value;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} canceled with API key {KeyId}")]
    private partial void LogCanceled(string messageId, string keyId);
}
