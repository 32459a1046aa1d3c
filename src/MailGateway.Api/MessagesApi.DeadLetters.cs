using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using MailGateway.Core.Keys;
using MailGateway.Core.Queue;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MailGateway.Api;

/// <summary>The dead letters: list, read, replay, purge (a host whose queue does not offer them answers 501).</summary>
public sealed partial class MessagesApi
{
    /// <summary>The path of the dead-letters resource.</summary>
    public const string DeadLettersPath = "/api/v1/dead-letters";

    /// <summary>The query parameters of <c>GET /api/v1/dead-letters</c>.</summary>
    public static readonly IReadOnlyList<string> DeadLetterParameters = ["reason", "since", "until", "cursor", "limit"];

    /// <summary>The query parameters of <c>POST /api/v1/dead-letters/replay</c> and <c>…/purge</c>.</summary>
    public static readonly IReadOnlyList<string> DeadLetterBulkParameters = ["reason", "since", "until", "limit"];

    /// <summary>The most dead letters one bulk replay or purge handles (more: call again while <c>more</c> is true).</summary>
    public const int MaxBulkLimit = 1000;

    private static readonly string[] Reasons =
    [
        DeadLetterReasons.Failed, DeadLetterReasons.Expired, DeadLetterReasons.Unknown, DeadLetterReasons.ContentMissing,
        DeadLetterReasons.MalformedJob, DeadLetterReasons.TooManyDeliveries,
    ];

    /// <summary><c>GET /api/v1/dead-letters</c>: the caller's (scope <c>read</c>) or every key's (scope <c>admin</c>) dead letters, newest first.</summary>
    public async Task<IResult> ListDeadLettersAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Read, orAdmin: false, out var caller, out var refusal))
        {
            return refusal;
        }

        if (!TryReadDeadLetterQuery(context.Request.Query, DeadLetterParameters, caller, 50, DeadLetterQuery.MaxLimit, out var query, out var invalid))
        {
            return invalid;
        }

        return await GuardDeadLettersAsync(async () =>
        {
            var page = await _deadLetters.ListAsync(query, context.RequestAborted);
            return ApiResults.Json(new DeadLetterListResponse([.. page.Items.Select(e => ToResponse(e, null))], page.Next),
                ApiJsonContext.Default.DeadLetterListResponse, StatusCodes.Status200OK);
        });
    }

    /// <summary><c>GET /api/v1/dead-letters/{id}</c>: one dead letter with its message's status (attempts, last reply).</summary>
    public async Task<IResult> GetDeadLetterAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Read, orAdmin: false, out var caller, out var refusal))
        {
            return refusal;
        }

        return await GuardDeadLettersAsync(async () =>
        {
            var entry = IsDeadLetterId(id) ? await _deadLetters.GetAsync(id, context.RequestAborted) : null;
            if (entry is null || !caller.MayAccess(entry.Owner))
            {
                return DeadLetterNotFound();
            }

            var record = await _status.GetAsync(entry.MessageId, context.RequestAborted);
            return ApiResults.Json(ToResponse(entry, record is null ? null : StatusMapper.ToResponse(record)),
                ApiJsonContext.Default.DeadLetterResponse, StatusCodes.Status200OK);
        });
    }

    /// <summary>
    /// <c>POST /api/v1/dead-letters/{id}/replay</c>: the job goes back on the queue as a new attempt (same message id
    /// and Message-ID); scope <c>send</c> for the key's own, <c>admin</c> for any.
    /// </summary>
    public async Task<IResult> ReplayDeadLetterAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Send, orAdmin: true, out var caller, out var refusal))
        {
            return refusal;
        }

        return await GuardDeadLettersAsync(async () =>
        {
            var entry = IsDeadLetterId(id) ? await _deadLetters.GetAsync(id, context.RequestAborted) : null;
            if (entry is null || !caller.MayAccess(entry.Owner))
            {
                return DeadLetterNotFound();
            }

            var result = await _deadLetters.ReplayAsync(id, $"Replayed with API key '{caller.Id}'.", CancellationToken.None);
            switch (result.Outcome)
            {
                case ReplayOutcome.Replayed:
                    LogReplayed(entry.MessageId, id, caller.Id, result.Job!.Attempt);
                    return ApiResults.Json(new AcceptedMessageResponse(entry.MessageId, "deferred"), ApiJsonContext.Default.AcceptedMessageResponse,
                        StatusCodes.Status202Accepted, $"{MessagesPath}/{entry.MessageId}");
                case ReplayOutcome.NotReplayable:
                    return ApiResults.Problem(StatusCodes.Status409Conflict, "Not replayable",
                        "The dead letter is not a readable job, its message's status record is gone, or the message has a job already.",
                        [new FieldError("id", ApiErrorCodes.NotReplayable, "This dead letter cannot be replayed; purge it instead.")]);
                default:
                    return DeadLetterNotFound();
            }
        });
    }

    /// <summary><c>DELETE /api/v1/dead-letters/{id}</c>: removes the dead letter and its message's stored content (204).</summary>
    public async Task<IResult> PurgeDeadLetterAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Send, orAdmin: true, out var caller, out var refusal))
        {
            return refusal;
        }

        return await GuardDeadLettersAsync(async () =>
        {
            var entry = IsDeadLetterId(id) ? await _deadLetters.GetAsync(id, context.RequestAborted) : null;
            if (entry is null || !caller.MayAccess(entry.Owner) || !await _deadLetters.PurgeAsync(id, CancellationToken.None))
            {
                return DeadLetterNotFound();
            }

            LogPurged(entry.MessageId, id, caller.Id);
            return new NoContentResult();
        });
    }

    /// <summary>
    /// <c>POST /api/v1/dead-letters/replay</c>: replays up to <c>limit</c> dead letters matching the filter (reason,
    /// since, until), newest first, each as <see cref="ReplayDeadLetterAsync"/> does (atomic: a dead letter taken by a
    /// concurrent replay or purge is reported <c>gone</c>, never replayed twice). Scope send (own) or admin (any).
    /// </summary>
    public Task<IResult> ReplayDeadLettersAsync(HttpContext context) => BulkAsync(context, replay: true);

    /// <summary><c>POST /api/v1/dead-letters/purge</c>: purges up to <c>limit</c> dead letters matching the filter, with their content.</summary>
    public Task<IResult> PurgeDeadLettersAsync(HttpContext context) => BulkAsync(context, replay: false);

    private async Task<IResult> BulkAsync(HttpContext context, bool replay)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Send, orAdmin: true, out var caller, out var refusal))
        {
            return refusal;
        }

        if (!TryReadDeadLetterQuery(context.Request.Query, DeadLetterBulkParameters, caller, 100, MaxBulkLimit, out var query, out var invalid))
        {
            return invalid;
        }

        return await GuardDeadLettersAsync(async () =>
        {
            // Once started, not cancelled by the caller going away: each item is one atomic store operation.
            var items = new List<DeadLetterBulkItem>();
            var done = 0;
            var more = false;
            var after = (string?)null;
            var reason = $"Replayed in bulk with API key '{caller.Id}'.";
            while (items.Count < query.Limit)
            {
                var page = await _deadLetters.ListAsync(
                    query with { After = after, Limit = Math.Min(DeadLetterQuery.MaxLimit, query.Limit - items.Count) }, CancellationToken.None);
                foreach (var entry in page.Items)
                {
                    string outcome;
                    if (replay)
                    {
                        var result = await _deadLetters.ReplayAsync(entry.Id, reason, CancellationToken.None);
                        outcome = result.Outcome switch
                        {
                            ReplayOutcome.Replayed => "replayed",
                            ReplayOutcome.NotReplayable => ApiErrorCodes.NotReplayable,
                            _ => "gone",
                        };
                        if (result.Outcome == ReplayOutcome.Replayed)
                        {
                            LogReplayed(entry.MessageId, entry.Id, caller.Id, result.Job!.Attempt);
                        }
                    }
                    else
                    {
                        var purged = await _deadLetters.PurgeAsync(entry.Id, CancellationToken.None);
                        outcome = purged ? "purged" : "gone";
                        if (purged)
                        {
                            LogPurged(entry.MessageId, entry.Id, caller.Id);
                        }
                    }

                    done += outcome is "replayed" or "purged" ? 1 : 0;
                    items.Add(new DeadLetterBulkItem(entry.Id, entry.MessageId, outcome));
                }

                after = page.Next;
                if (after is null)
                {
                    break;
                }

                more = items.Count >= query.Limit;
            }

            return ApiResults.Json(new DeadLetterBulkResponse(done, items, more), ApiJsonContext.Default.DeadLetterBulkResponse, StatusCodes.Status200OK);
        });
    }

    // The filter of the list and of the bulk operations; an admin key's reaches every key's dead letters.
    private static bool TryReadDeadLetterQuery(
        IQueryCollection parameters, IReadOnlyList<string> allowed, VerifiedApiKey caller, int defaultLimit, int maxLimit,
        out DeadLetterQuery query, [NotNullWhen(false)] out IResult? invalid)
    {
        var errors = QueryParameters.Check(parameters, allowed);
        string? reason = null;
        if (QueryParameters.Value(parameters, "reason") is { } r)
        {
            reason = Reasons.FirstOrDefault(x => string.Equals(x, r, StringComparison.OrdinalIgnoreCase));
            if (reason is null)
            {
                errors.Add(new FieldError("reason", ApiErrorCodes.InvalidReason, $"One of {string.Join(", ", Reasons)}."));
            }
        }

        var since = QueryParameters.Time(parameters, "since", errors);
        var until = QueryParameters.Time(parameters, "until", errors);
        if (since is { } s && until is { } u && u <= s)
        {
            errors.Add(new FieldError("until", ApiErrorCodes.BeforeSince, "'until' must be later than 'since'."));
        }

        var cursor = QueryParameters.Value(parameters, "cursor");
        if (cursor is not null && !IsDeadLetterId(cursor))
        {
            errors.Add(new FieldError("cursor", ApiErrorCodes.InvalidCursor, "Not a cursor from a previous page's nextCursor."));
        }

        var limit = defaultLimit;
        if (QueryParameters.Value(parameters, "limit") is { } text
            && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit))
        {
            errors.Add(new FieldError("limit", ApiErrorCodes.InvalidLimit, $"A whole number from 1 to {maxLimit} (default {defaultLimit})."));
        }

        query = new DeadLetterQuery
        {
            Owner = caller.Has(ApiKeyScopes.Admin) ? null : caller.Id,
            Reason = reason,
            Since = since,
            Until = until,
            After = cursor,
            Limit = limit,
        };
        invalid = errors.Count > 0 ? ApiResults.ValidationProblem(errors) : null;
        return errors.Count == 0;
    }

    private async Task<IResult> GuardDeadLettersAsync(Func<Task<IResult>> call)
    {
        try
        {
            return await call();
        }
        catch (NotSupportedException)
        {
            return ApiResults.Problem(StatusCodes.Status501NotImplemented, "Not implemented",
                "This host's queue does not offer dead-letter operations yet (see the README's known gaps).");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStoreUnavailable(ex);
            return Unavailable("The queue or the status store is unavailable.");
        }
    }

    private static bool IsDeadLetterId(string? id) =>
        id is { Length: > 0 and <= 19 } && id.All(char.IsAsciiDigit) && long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0;

    private static IResult DeadLetterNotFound() =>
        ApiResults.Problem(StatusCodes.Status404NotFound, "Not found", "No dead letter with this id for this API key.");

    private static DeadLetterResponse ToResponse(DeadLetterEntry entry, MessageStatusResponse? message) => new(
        entry.Id, entry.MessageId, entry.Owner, entry.Reason, entry.Description, entry.Attempt, entry.DeliveryCount, entry.DeadLetteredAt,
        entry.Job?.Recipients ?? [], message);

    /// <summary>204 without services from the container (the Functions host executes results on its own context).</summary>
    internal sealed class NoContentResult : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => StatusCodes.Status204NoContent;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dead letter {DeadLetterId} of message {MessageId} replayed with API key {KeyId} as attempt {Attempt}")]
    private partial void LogReplayed(string messageId, string deadLetterId, string keyId, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dead letter {DeadLetterId} of message {MessageId} purged with API key {KeyId}")]
    private partial void LogPurged(string messageId, string deadLetterId, string keyId);
}
