using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MailGateway.Core.Events;
using MailGateway.Core.Keys;
using MailGateway.Core.Status;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace MailGateway.Api;

/// <summary>A page of events, in the log's order.</summary>
/// <param name="Events">The events after the cursor.</param>
/// <param name="Next">The cursor to continue with: the last event's id, or the request's <c>after</c> when the page is empty.</param>
/// <param name="HasMore">True when the page is full (ask again with <paramref name="Next"/> at once).</param>
public sealed record EventPageResponse(IReadOnlyList<MessageEventResponse> Events, string? Next, bool HasMore);

/// <summary>
/// <c>GET /api/v1/events</c> (the feed, keyset-paginated on the event id) and <c>GET /api/v1/messages/{id}/events</c>.
/// A key sees only the events of its own messages; the key needs the <c>read</c> scope.
/// </summary>
public sealed partial class EventsApi(ApiKeyAuthenticator authenticator, IMessageEventStore events, IMessageStatusStore status, IOptionsMonitor<ApiOptions> options, ILogger<EventsApi> logger)
{
    /// <summary>The path of the feed.</summary>
    public const string EventsPath = "/api/v1/events";

    /// <summary>The query parameters of the feed.</summary>
    private static readonly IReadOnlyList<string> FeedParameters = ["after", "types", "limit"];

    /// <summary>The query parameters of one message's events.</summary>
    private static readonly IReadOnlyList<string> MessageParameters = ["after", "limit"];

    /// <summary>The page size without <c>limit</c>.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The largest <c>limit</c>.</summary>
    public const int MaxLimit = 1000;

    private const int MaxTypesLength = 256;

    /// <summary><c>GET /api/v1/events?after=&amp;types=&amp;limit=</c>.</summary>
    public async Task<IResult> FeedAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var caller = authenticator.Authenticate(context.Request);
        if (caller is null)
        {
            return Unauthorized();
        }

        if (!caller.Has(ApiKeyScopes.Read))
        {
            return Forbidden();
        }

        var (query, errors) = Parse(context.Request.Query, caller.Id, messageId: null, allowTypes: true, events as IMessageEventFeedCursor);
        return query is null ? ApiResults.ValidationProblem(errors) : await PageAsync(query, context.RequestAborted);
    }

    /// <summary><c>GET /api/v1/messages/{id}/events?after=&amp;limit=</c>: one message's events.</summary>
    public async Task<IResult> ForMessageAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        var caller = authenticator.Authenticate(context.Request);
        if (caller is null)
        {
            return Unauthorized();
        }

        if (!caller.Has(ApiKeyScopes.Read))
        {
            return Forbidden();
        }

        var (query, errors) = Parse(context.Request.Query, caller.Id, id, allowTypes: true);
        if (query is null)
        {
            return ApiResults.ValidationProblem(errors);
        }

        MessageRecord? record;
        try
        {
            record = string.IsNullOrEmpty(id) || id.Length > 64 ? null : await status.GetAsync(id, context.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStoreUnavailable(ex);
            return Unavailable();
        }

        if (record is null || !string.Equals(record.Owner, caller.Id, StringComparison.Ordinal))
        {
            return ApiResults.Problem(StatusCodes.Status404NotFound, "Not found", "No message with this id was sent with this API key.");
        }

        return await PageAsync(query, context.RequestAborted);
    }

    private async Task<IResult> PageAsync(MessageEventQuery query, CancellationToken cancellationToken)
    {
        IReadOnlyList<MessageEvent> page;
        try
        {
            page = await events.ReadAsync(query, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStoreUnavailable(ex);
            return Unavailable();
        }

        var next = page.Count > 0 ? page[^1].Id : query.After > 0 ? MessageEventIds.Format(query.After) : query.AfterId;
        var body = new EventPageResponse([.. page.Select(MessageEventResponse.From)], next, page.Count == query.Limit);
        return ApiResults.Json(body, EventsJsonContext.Default.EventPageResponse, StatusCodes.Status200OK);
    }

    /// <summary>
    /// The query parameters: <c>after</c> (an event id), <c>types</c> (comma-separated), <c>limit</c> (1-1000). A log
    /// with its own feed ids (<paramref name="feedCursor"/>, the Azure feed) decides which <c>after</c> it takes.
    /// </summary>
    internal static (MessageEventQuery? Query, IReadOnlyList<FieldError> Errors) Parse(IQueryCollection parameters, string owner, string? messageId, bool allowTypes, IMessageEventFeedCursor? feedCursor = null)
    {
        var errors = QueryParameters.Check(parameters, allowTypes ? FeedParameters : MessageParameters);
        long after = 0;
        string? afterId = null;
        if (QueryParameters.Value(parameters, "after") is { Length: > 0 } cursor)
        {
            if (feedCursor is not null)
            {
                if (cursor.Length <= 256 && feedCursor.IsFeedCursor(cursor))
                {
                    afterId = cursor;
                }
                else
                {
                    errors.Add(new FieldError("after", ApiErrorCodes.InvalidCursor, "'after' is an event id from an earlier page of this feed."));
                }
            }
            else if (!MessageEventIds.TryParse(cursor, out after))
            {
                errors.Add(new FieldError("after", ApiErrorCodes.InvalidCursor, "'after' is an event id (evt_ and 16 digits) from an earlier page."));
            }
        }

        var limit = DefaultLimit;
        if (QueryParameters.Value(parameters, "limit") is { Length: > 0 } text
            && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            errors.Add(new FieldError("limit", ApiErrorCodes.InvalidLimit, $"'limit' is a whole number from 1 to {MaxLimit}."));
        }

        List<string>? types = null;
        if (allowTypes && QueryParameters.Value(parameters, "types") is { Length: > 0 } list)
        {
            if (list.Length > MaxTypesLength)
            {
                errors.Add(new FieldError("types", ApiErrorCodes.InvalidType, $"'types' is at most {MaxTypesLength} characters."));
            }
            else
            {
                types = [];
                foreach (var type in list.Split(',', StringSplitOptions.TrimEntries))
                {
                    if (!MessageEventTypes.All.Contains(type, StringComparer.Ordinal))
                    {
                        errors.Add(new FieldError("types", ApiErrorCodes.InvalidType, $"'{QueryParameters.Truncate(type)}' is not an event type ({string.Join(", ", MessageEventTypes.All)})."));
                    }
                    else if (!types.Contains(type, StringComparer.Ordinal))
                    {
                        types.Add(type);
                    }
                }
            }
        }

        return errors.Count > 0 ? (null, errors) : (new MessageEventQuery(owner, after, limit, messageId, types, afterId), errors);
    }

    private static IResult Unauthorized() =>
        ApiResults.Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
            "Send a valid API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
            headers: new Dictionary<string, string> { ["WWW-Authenticate"] = "Bearer realm=\"MailGateway\"" });

    private static IResult Forbidden() => MessagesApi.MissingScope(ApiKeyScopes.Read);

    private IResult Unavailable() =>
        ApiResults.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", "The event log is unavailable.",
            headers: new Dictionary<string, string> { ["Retry-After"] = ((int)Math.Ceiling(options.CurrentValue.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture) });

    [LoggerMessage(Level = LogLevel.Error, Message = "The event log or the status store is unavailable")]
    private partial void LogStoreUnavailable(Exception exception);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EventPageResponse))]
internal sealed partial class EventsJsonContext : JsonSerializerContext;

/// <summary>Registration and routes of the event endpoints (hosts with an <see cref="IMessageEventStore"/>).</summary>
public static class EventsApiExtensions
{
    /// <summary>Registers <see cref="EventsApi"/>; the host registers its <see cref="IMessageEventStore"/>.</summary>
    public static IServiceCollection AddMailGatewayEventsApi(this IServiceCollection services)
    {
        services.TryAddSingleton<EventsApi>();
        return services;
    }

    /// <summary>Maps <c>GET /api/v1/events</c> and <c>GET /api/v1/messages/{id}/events</c>.</summary>
    public static IEndpointRouteBuilder MapMailGatewayEventsApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(EventsApi.EventsPath, (HttpContext context, EventsApi api) => api.FeedAsync(context))
            .WithTags("Events")
            .WithName("ListEvents")
            .WithSummary("The event feed of this API key's messages, oldest first")
            .WithDescription("Keyset pagination: pass the previous page's 'next' as 'after'. Optional 'types' (comma-separated: accepted, scheduled, deferred, delivered, failed, expired, unknown, canceled, suppressed, bounced) and 'limit' (1-1000, default 100).")
            .Produces<EventPageResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        endpoints.MapGet(MessagesApi.MessagesPath + "/{id}/events", (HttpContext context, string id, EventsApi api) => api.ForMessageAsync(context, id))
            .WithTags("Events")
            .WithName("ListMessageEvents")
            .WithSummary("The events of one message, oldest first (same paging as the feed)")
            .Produces<EventPageResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }
}
