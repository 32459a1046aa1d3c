using MailGateway.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MailGateway.Api;

/// <summary>Registration of the shared API logic; the host adds the queue, the stores and (for the standalone host) the worker.</summary>
public static class ApiServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="MessagesApi"/>, API-key authentication, the rate limits (<c>MailGateway:RateLimits</c>, for
    /// ASP.NET Core's rate limiter and the Functions triggers) and Core's <see cref="Core.Submissions.MessageSubmission"/>,
    /// with options from <c>MailGateway:Api</c>. The host registers its stores, queue and
    /// <see cref="Core.Submissions.IMessageAcceptor"/>.
    /// </summary>
    public static IServiceCollection AddMailGatewayApi(this IServiceCollection services)
    {
        services.AddOptions<ApiOptions>()
            .BindConfiguration(ApiOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddMessageSubmission();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<ApiMetrics>();
        services.TryAddSingleton<ApiKeyAuthenticator>();
        services.TryAddSingleton<MessagesApi>();
        services.TryAddSingleton<ApiRateLimiter>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<ApiRateLimiter>((rateLimiting, limiter) =>
        {
            rateLimiting.GlobalLimiter = limiter.Limiter;
            rateLimiting.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            rateLimiting.OnRejected = (rejected, _) => new ValueTask(limiter.Rejection(rejected.HttpContext, rejected.Lease).ExecuteAsync(rejected.HttpContext));
        });
        return services;
    }
}

/// <summary>
/// Marks the send endpoint for API descriptions. Not <c>Accepts&lt;T&gt;()</c>: routing would then answer a non-JSON
/// request with its own empty 415 instead of the API's problem+json, and the Functions host would differ.
/// </summary>
public sealed class SendMessageRequestMetadata
{
    /// <summary>The request body type.</summary>
    public Type RequestType => typeof(SendMessageRequest);

    /// <summary>The request media type.</summary>
    public string ContentType => "application/json";
}

/// <summary>The endpoints of the standalone host (the Functions host declares the same routes as triggers).</summary>
public static class ApiEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST /api/v1/messages</c>, <c>GET /api/v1/messages</c>, <c>GET /api/v1/messages/{id}</c> and
    /// <c>POST /api/v1/messages/{id}/cancel</c> (health: MailGateway.ServiceDefaults).
    /// </summary>
    public static IEndpointRouteBuilder MapMailGatewayApi(this IEndpointRouteBuilder endpoints)
    {
        var messages = endpoints.MapGroup(MessagesApi.MessagesPath).WithTags("Messages");
        messages.MapPost("", (HttpContext context, MessagesApi api) => api.SendAsync(context))
            .WithName("SendMessage")
            .WithSummary("Queue a message for delivery")
            .WithDescription("Answers 202 once the composed message and its delivery job are on disk. Optional header Idempotency-Key: the same key and body return the original answer for at least 24 hours.")
            .WithMetadata(new SendMessageRequestMetadata())
            .Produces<AcceptedMessageResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413RequestEntityTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        messages.MapPost("batch", (HttpContext context, MessagesApi api) => api.SendBatchAsync(context))
            .WithName("SendMessageBatch")
            .WithSummary("Queue up to 500 messages in one request, one result per item")
            .WithDescription("Body {\"messages\": [{\"idempotencyKey\": \"…\", \"message\": {…as POST /api/v1/messages…}}]}. 200 with one result per item (status 202 with id, or the item's field errors); the accepted items are durable in one commit (SQLite). A JSON syntax or type error anywhere refuses the whole batch (400).")
            .Produces<SendBatchResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413RequestEntityTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        // The query parameters are declared for the API description only: the API reads and validates the query itself
        // (unknown and repeated parameters are field errors), as the Functions host does.
        messages.MapGet("", (HttpContext context, MessagesApi api, string? status, string? tag, string? recipient,
                [Microsoft.AspNetCore.Mvc.FromQuery(Name = "from")] string? sender, string? since, string? until, string? cursor, string? limit) => api.ListAsync(context))
            .WithName("ListMessages")
            .WithSummary("Search messages, newest first, one page at a time")
            .WithDescription("Filters (all optional, combined with AND): status, tag, recipient, from (envelope addresses), since/until (ISO 8601 with Z or an offset; createdAt in [since, until)), cursor (nextCursor of the previous page), limit (1-100, default 50). A key with the admin scope sees every key's messages, any other key its own (scope read).")
            .Produces<MessageListResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        messages.MapPost("{id}/cancel", (HttpContext context, string id, MessagesApi api) => api.CancelAsync(context, id))
            .WithName("CancelMessage")
            .WithSummary("Cancel a queued, scheduled or deferred message")
            .WithDescription("The message becomes canceled (a final state) and is never sent; a worker starting its attempt at the same moment either finds it canceled or wins, and then the cancel answers 409. Scope send for the key's own messages, admin for any.")
            .Produces<MessageStatusResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        messages.MapGet("{id}", (HttpContext context, string id, MessagesApi api) => api.GetAsync(context, id))
            .WithName("GetMessage")
            .WithSummary("The status of a message, with every attempt and per-recipient results")
            .Produces<MessageStatusResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        var deadLetters = endpoints.MapGroup(MessagesApi.DeadLettersPath).WithTags("Dead letters");
        deadLetters.MapGet("", (HttpContext context, MessagesApi api, string? reason, string? since, string? until, string? cursor, string? limit) => api.ListDeadLettersAsync(context))
            .WithName("ListDeadLetters")
            .WithSummary("Dead letters, newest first")
            .WithDescription("Filters: reason (Failed, Expired, Unknown, ContentMissing, MalformedJob, TooManyDeliveries), since/until (dead-lettered in [since, until), ISO 8601 with Z or an offset), cursor, limit (1-100, default 50). Scope read (own messages) or admin (every key's).")
            .Produces<DeadLetterListResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status501NotImplemented)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        deadLetters.MapPost("replay", (HttpContext context, MessagesApi api, string? reason, string? since, string? until, string? limit) => api.ReplayDeadLettersAsync(context))
            .WithName("ReplayDeadLetters")
            .WithSummary("Replay every dead letter matching a filter (up to limit per call)")
            .WithDescription("Filters as the list: reason, since, until; limit 1-1000 (default 100). Each dead letter is replayed atomically as by POST …/{id}/replay; one taken by a concurrent replay or purge is reported gone. more=true: call again. Scope send (own) or admin (any).")
            .Produces<DeadLetterBulkResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status501NotImplemented)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        deadLetters.MapPost("purge", (HttpContext context, MessagesApi api, string? reason, string? since, string? until, string? limit) => api.PurgeDeadLettersAsync(context))
            .WithName("PurgeDeadLetters")
            .WithSummary("Purge every dead letter matching a filter, with its content (up to limit per call)")
            .WithDescription("Filters as the list: reason, since, until; limit 1-1000 (default 100). more=true: call again. Scope send (own) or admin (any).")
            .Produces<DeadLetterBulkResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status501NotImplemented)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        deadLetters.MapGet("{id}", (HttpContext context, string id, MessagesApi api) => api.GetDeadLetterAsync(context, id))
            .WithName("GetDeadLetter")
            .WithSummary("One dead letter with its message's status (reason, last reply, attempts)")
            .Produces<DeadLetterResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status501NotImplemented)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        deadLetters.MapPost("{id}/replay", (HttpContext context, string id, MessagesApi api) => api.ReplayDeadLetterAsync(context, id))
            .WithName("ReplayDeadLetter")
            .WithSummary("Put a dead letter's job back on the queue as a new attempt (same message id and Message-ID)")
            .WithDescription("Of two concurrent replays of one dead letter one gets 202, the other 404. Scope send (own) or admin (any).")
            .Produces<AcceptedMessageResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status501NotImplemented)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        deadLetters.MapDelete("{id}", (HttpContext context, string id, MessagesApi api) => api.PurgeDeadLetterAsync(context, id))
            .WithName("PurgeDeadLetter")
            .WithSummary("Remove a dead letter and its message's stored content")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status501NotImplemented)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }
}
