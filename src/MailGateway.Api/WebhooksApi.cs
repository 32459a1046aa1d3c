using System.Text.Json;
using System.Text.Json.Serialization;
using MailGateway.Core.Keys;
using MailGateway.Core.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Api;

/// <summary>A configured webhook endpoint and its delivery state (never its secret).</summary>
/// <param name="Name">The endpoint's name.</param>
/// <param name="Url">The receiver.</param>
/// <param name="EventTypes">The types sent (empty: all).</param>
/// <param name="Enabled">False once the retry schedule ran out (the endpoint is disabled).</param>
/// <param name="Cursor">The id of the last event it acknowledged, or null before the first.</param>
/// <param name="Failures">Failed attempts of the next event, in a row.</param>
/// <param name="FailingSince">When the first of those failed.</param>
/// <param name="NextAttemptAt">When the next attempt is due.</param>
/// <param name="LastStatus">The last status code answered.</param>
/// <param name="LastError">The last failure.</param>
public sealed record WebhookResponse(string Name, string Url, IReadOnlyList<string> EventTypes, bool Enabled, string? Cursor, int Failures,
    DateTimeOffset? FailingSince, DateTimeOffset? NextAttemptAt, int? LastStatus, string? LastError);

/// <summary>The body of <c>GET /api/v1/webhooks</c>.</summary>
/// <param name="Webhooks">The endpoints this key may see.</param>
public sealed record WebhookListResponse(IReadOnlyList<WebhookResponse> Webhooks);

/// <summary>
/// <c>GET /api/v1/webhooks</c>: the endpoints configured for the calling key (<c>KeyId</c>), with their delivery
/// state; an <c>admin</c> key sees every endpoint. Needs <c>read</c>.
/// </summary>
public sealed partial class WebhooksApi(ApiKeyAuthenticator authenticator, IOptions<WebhookOptions> options, IWebhookStateStore states, IOptionsMonitor<ApiOptions> apiOptions, ILogger<WebhooksApi> logger)
{
    /// <summary>The path.</summary>
    public const string WebhooksPath = "/api/v1/webhooks";

    /// <summary>Lists the endpoints.</summary>
    public async Task<IResult> ListAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var caller = authenticator.Authenticate(context.Request);
        if (caller is null)
        {
            return ApiResults.Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
                "Send a valid API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
                headers: new Dictionary<string, string> { ["WWW-Authenticate"] = "Bearer realm=\"MailGateway\"" });
        }

        if (!caller.Has(ApiKeyScopes.Read))
        {
            return MessagesApi.MissingScope(ApiKeyScopes.Read);
        }

        var settings = options.Value;
        var list = new List<WebhookResponse>();
        try
        {
            for (var i = 0; i < settings.Endpoints.Count; i++)
            {
                var endpoint = settings.Endpoints[i];
                if (!string.Equals(endpoint.KeyId, caller.Id, StringComparison.Ordinal) && !caller.Has(ApiKeyScopes.Admin))
                {
                    continue;
                }

                var state = await states.GetOrCreateAsync(settings.NameOf(i), context.RequestAborted);
                list.Add(new WebhookResponse(state.Name, endpoint.Url, endpoint.EventTypes, !state.Disabled,
                    state.After > 0 ? Core.Events.MessageEventIds.Format(state.After) : null, state.Failures,
                    state.FailingSince, state.NextAttemptAt, state.LastStatus, state.LastError));
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStoreUnavailable(ex);
            return ApiResults.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", "The webhook state is unavailable.",
                headers: new Dictionary<string, string> { ["Retry-After"] = ((int)Math.Ceiling(apiOptions.CurrentValue.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        return ApiResults.Json(new WebhookListResponse(list), WebhooksJsonContext.Default.WebhookListResponse, StatusCodes.Status200OK);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The webhook state is unavailable")]
    private partial void LogStoreUnavailable(Exception exception);
}

/// <summary>Registration and route of <see cref="WebhooksApi"/> (hosts with webhook delivery).</summary>
public static class WebhooksApiExtensions
{
    /// <summary>Registers <see cref="WebhooksApi"/>; the host registers its <see cref="IWebhookStateStore"/> and <see cref="WebhookOptions"/>.</summary>
    public static IServiceCollection AddMailGatewayWebhooksApi(this IServiceCollection services)
    {
        services.TryAddSingleton<WebhooksApi>();
        return services;
    }

    /// <summary>Maps <c>GET /api/v1/webhooks</c>.</summary>
    public static IEndpointRouteBuilder MapMailGatewayWebhooksApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(WebhooksApi.WebhooksPath, (HttpContext context, WebhooksApi api) => api.ListAsync(context))
            .WithTags("Webhooks")
            .WithName("ListWebhooks")
            .WithSummary("The webhook endpoints configured for this API key, with their delivery state (never the secret)")
            .Produces<WebhookListResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookListResponse))]
internal sealed partial class WebhooksJsonContext : JsonSerializerContext;
