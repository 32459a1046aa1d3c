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
public sealed partial class MessagesFunctions(MessagesApi api, ILogger<MessagesFunctions> logger)
{
    /// <summary><c>POST /api/v1/messages</c>.</summary>
    [Function("SendMessage")]
    public Task<IResult> SendAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/messages")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(() => api.SendAsync(request.HttpContext));
    }

    /// <summary><c>GET /api/v1/messages/{id}</c>.</summary>
    [Function("GetMessage")]
    public Task<IResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/messages/{id}")] HttpRequest request,
        string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(() => api.GetAsync(request.HttpContext, id));
    }

    /// <summary><c>GET /api/v1/events</c>: 501 here (no event log in the Azure hosts yet; the standalone host has one).</summary>
    [Function("ListEvents")]
    public static IResult ListEvents(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/events")] HttpRequest request) => EventsApi.NotImplemented();

    /// <summary><c>GET /api/v1/messages/{id}/events</c>: 501 here, as <see cref="ListEvents"/>.</summary>
    [Function("ListMessageEvents")]
    public static IResult ListMessageEvents(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/messages/{id}/events")] HttpRequest request, string id) => EventsApi.NotImplemented();

    /// <summary><c>GET /healthz</c>: the one liveness answer of every host.</summary>
    [Function("Health")]
    public static IResult Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "healthz")] HttpRequest request) => HealthEndpoints.Live();

    /// <summary><c>GET /readyz</c>: the one readiness answer of every host (checks <c>queue</c>, <c>statusStore</c>, <c>contentStore</c>).</summary>
    [Function("Ready")]
    public Task<IResult> ReadyAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "readyz")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardAsync(() => HealthEndpoints.ReadyAsync(request.HttpContext));
    }

    // The standalone host's exception handler answers an unexpected failure with a problem, never a stack trace; the
    // Functions host would answer a bare 500, so the triggers give the same problem themselves.
    private async Task<IResult> GuardAsync(Func<Task<IResult>> call)
    {
        try
        {
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
