using MailGateway.Api;
using MailGateway.ServiceDefaults.Health;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace MailGateway.Functions;

/// <summary>
/// The HTTP triggers: the same routes as the standalone host, each a call of <see cref="MessagesApi"/>.
/// Authorization is the API's own (API keys), so the triggers are anonymous to the Functions host; the host.json
/// route prefix is empty so the paths are exactly <c>/api/v1/messages</c>, <c>/healthz</c>, <c>/readyz</c>.
/// The <see cref="IResult"/> is executed by the ASP.NET Core integration against the request's <see cref="HttpContext"/>.
/// </summary>
public sealed partial class MessagesFunctions(MessagesApi api, EventsApi events, SuppressionsApi suppressions, WebhooksApi webhooks, ApiRateLimiter limiter, ILogger<MessagesFunctions> logger)
{
    /// <summary><c>POST /api/v1/messages</c>.</summary>
    [Function("SendMessage")]
    public Task<IResult> SendAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/messages")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.SendAsync(request.HttpContext));
    }

    /// <summary><c>GET /api/v1/messages/{id}</c>.</summary>
    [Function("GetMessage")]
    public Task<IResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/messages/{id}")] HttpRequest request,
        string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.GetAsync(request.HttpContext, id));
    }

    /// <summary><c>POST /api/v1/messages/batch</c>.</summary>
    [Function("SendMessageBatch")]
    public Task<IResult> SendBatchAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/messages/batch")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.SendBatchAsync(request.HttpContext));
    }

    /// <summary><c>GET /api/v1/messages</c>: the list (search, keyset pages).</summary>
    [Function("ListMessages")]
    public Task<IResult> ListAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/messages")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.ListAsync(request.HttpContext));
    }

    /// <summary><c>POST /api/v1/messages/{id}/cancel</c>.</summary>
    [Function("CancelMessage")]
    public Task<IResult> CancelAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/messages/{id}/cancel")] HttpRequest request,
        string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.CancelAsync(request.HttpContext, id));
    }

    /// <summary><c>GET /api/v1/dead-letters</c>: the Service Bus dead-letter sub-queue (<c>ServiceBusDeadLetterStore</c>).</summary>
    [Function("ListDeadLetters")]
    public Task<IResult> ListDeadLettersAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/dead-letters")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.ListDeadLettersAsync(request.HttpContext));
    }

    /// <summary><c>POST /api/v1/dead-letters/replay</c>.</summary>
    [Function("ReplayDeadLetters")]
    public Task<IResult> ReplayDeadLettersAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/dead-letters/replay")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.ReplayDeadLettersAsync(request.HttpContext));
    }

    /// <summary><c>POST /api/v1/dead-letters/purge</c>.</summary>
    [Function("PurgeDeadLetters")]
    public Task<IResult> PurgeDeadLettersAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/dead-letters/purge")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.PurgeDeadLettersAsync(request.HttpContext));
    }

    /// <summary><c>GET /api/v1/dead-letters/{id}</c>.</summary>
    [Function("GetDeadLetter")]
    public Task<IResult> GetDeadLetterAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/dead-letters/{id}")] HttpRequest request,
        string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.GetDeadLetterAsync(request.HttpContext, id));
    }

    /// <summary><c>POST /api/v1/dead-letters/{id}/replay</c>.</summary>
    [Function("ReplayDeadLetter")]
    public Task<IResult> ReplayDeadLetterAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/dead-letters/{id}/replay")] HttpRequest request,
        string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.ReplayDeadLetterAsync(request.HttpContext, id));
    }

    /// <summary><c>DELETE /api/v1/dead-letters/{id}</c>.</summary>
    [Function("PurgeDeadLetter")]
    public Task<IResult> PurgeDeadLetterAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/dead-letters/{id}")] HttpRequest request,
        string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => api.PurgeDeadLetterAsync(request.HttpContext, id));
    }

    /// <summary>
    /// <c>GET /api/v1/events</c>: the feed across messages, from the Table event feed (<c>TableEventFeed</c>: time
    /// order, an entry served once its change is known to have committed), with the standalone host's parameters and answers.
    /// </summary>
    [Function("ListEvents")]
    public Task<IResult> ListEventsAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/events")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => events.FeedAsync(request.HttpContext));
    }

    /// <summary><c>GET /api/v1/messages/{id}/events</c>: one message's events, from the Table event rows (as the standalone host).</summary>
    [Function("ListMessageEvents")]
    public Task<IResult> ListMessageEventsAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/messages/{id}/events")] HttpRequest request, string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => events.ForMessageAsync(request.HttpContext, id));
    }

    /// <summary>
    /// <c>GET /api/v1/webhooks</c>: the endpoints in Table storage (<c>TableWebhookStore</c>), as the standalone host;
    /// the delivery worker's dispatcher sends to them from the event feed.
    /// </summary>
    [Function("ListWebhooks")]
    public Task<IResult> ListWebhooksAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/webhooks")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => webhooks.ListAsync(request.HttpContext));
    }

    /// <summary><c>GET /api/v1/suppressions</c>: the suppression list in Table storage (<c>TableSuppressionList</c>).</summary>
    [Function("ListSuppressions")]
    public Task<IResult> ListSuppressionsAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/suppressions")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => suppressions.ListAsync(request.HttpContext));
    }

    /// <summary><c>POST /api/v1/suppressions</c>.</summary>
    [Function("AddSuppressions")]
    public Task<IResult> AddSuppressionsAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/suppressions")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => suppressions.AddAsync(request.HttpContext));
    }

    /// <summary><c>DELETE /api/v1/suppressions/{address}</c>.</summary>
    [Function("RemoveSuppression")]
    public Task<IResult> RemoveSuppressionAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/suppressions/{address}")] HttpRequest request, string address)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => suppressions.RemoveAsync(request.HttpContext, address));
    }

    /// <summary><c>POST /api/v1/webhooks</c>.</summary>
    [Function("CreateWebhook")]
    public Task<IResult> CreateWebhookAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/webhooks")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => webhooks.CreateAsync(request.HttpContext));
    }

    /// <summary><c>GET /api/v1/webhooks/{id}</c>.</summary>
    [Function("GetWebhook")]
    public Task<IResult> GetWebhookAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/webhooks/{id}")] HttpRequest request, string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => webhooks.GetAsync(request.HttpContext, id));
    }

    /// <summary><c>PATCH /api/v1/webhooks/{id}</c>.</summary>
    [Function("UpdateWebhook")]
    public Task<IResult> UpdateWebhookAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "api/v1/webhooks/{id}")] HttpRequest request, string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => webhooks.UpdateAsync(request.HttpContext, id));
    }

    /// <summary><c>DELETE /api/v1/webhooks/{id}</c>.</summary>
    [Function("DeleteWebhook")]
    public Task<IResult> DeleteWebhookAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/webhooks/{id}")] HttpRequest request, string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => webhooks.DeleteAsync(request.HttpContext, id));
    }

    /// <summary><c>POST /api/v1/webhooks/{id}/rotate-secret</c>.</summary>
    [Function("RotateWebhookSecret")]
    public Task<IResult> RotateWebhookSecretAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/webhooks/{id}/rotate-secret")] HttpRequest request, string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => webhooks.RotateSecretAsync(request.HttpContext, id));
    }

    /// <summary><c>GET /healthz</c>: the one liveness answer of every host.</summary>
    [Function("Health")]
    public static IResult Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "healthz")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
        return HealthEndpoints.Live();
    }

    /// <summary><c>GET /readyz</c>: the one readiness answer of every host (checks <c>queue</c>, <c>statusStore</c>, <c>contentStore</c>).</summary>
    [Function("Ready")]
    public Task<IResult> ReadyAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "readyz")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(request, () => HealthEndpoints.ReadyAsync(request.HttpContext));
    }

    // The standalone host's pipeline (UseMailGatewayApiDefaults) rate-limits every /api path and answers an unexpected
    // failure with a problem, never a stack trace. The Functions host runs no ASP.NET Core middleware before a trigger
    // (a middleware that answers itself would leave the invocation waiting for its HTTP context), so every trigger
    // goes through this guard: nosniff, the same limiter (it only limits /api paths), the same 500 problem.
    private async Task<IResult> GuardAsync(HttpRequest request, Func<Task<IResult>> call)
    {
        request.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
        try
        {
            if (limiter.Check(request.HttpContext) is { } tooMany)
            {
                return tooMany;
            }

            return await call();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUnhandled(ex);
            return ApiResults.Problem(StatusCodes.Status500InternalServerError, "Internal error", "The gateway could not process the request.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error in an HTTP trigger")]
    private partial void LogUnhandled(Exception exception);
}
