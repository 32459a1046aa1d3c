using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MailGateway.Core.Events;
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

/// <summary>A webhook endpoint and its delivery state. Never a secret, except <paramref name="Secret"/> in the answer that made it.</summary>
/// <param name="Id">The id: <c>wh_…</c> for an endpoint created through the API, the name for a configured one.</param>
/// <param name="Name">The key of its delivery state (the id, or the configured name).</param>
/// <param name="Source"><c>api</c> or <c>configuration</c> (read-only through the API).</param>
/// <param name="Url">The receiver.</param>
/// <param name="EventTypes">The types sent (empty: all).</param>
/// <param name="Enabled">False while disabled through the API or once the retry schedule ran out (<paramref name="DisabledReason"/>).</param>
/// <param name="DisabledReason">Why nothing is sent, when <paramref name="Enabled"/> is false.</param>
/// <param name="Cursor">The id of the last event it acknowledged, or null before the first.</param>
/// <param name="Failures">Failed attempts of the next event, in a row.</param>
/// <param name="FailingSince">When the first of those failed.</param>
/// <param name="NextAttemptAt">When the next attempt is due.</param>
/// <param name="LastStatus">The last status code answered.</param>
/// <param name="LastError">The last failure.</param>
/// <param name="ApiKey">The key whose messages' events it receives; null for a configured endpoint of every key.</param>
/// <param name="CreatedAt">When it was created through the API.</param>
/// <param name="PreviousSecretExpiresAt">Until when the secret before the last rotation still signs too.</param>
/// <param name="Secret">The signing secret: only in the 201 of the create.</param>
public sealed record WebhookResponse(string Id, string Name, string Source, string Url, IReadOnlyList<string> EventTypes, bool Enabled, string? DisabledReason,
    string? Cursor, int Failures, DateTimeOffset? FailingSince, DateTimeOffset? NextAttemptAt, int? LastStatus, string? LastError,
    string? ApiKey = null, DateTimeOffset? CreatedAt = null, DateTimeOffset? PreviousSecretExpiresAt = null, string? Secret = null);

/// <summary>The body of <c>GET /api/v1/webhooks</c>.</summary>
/// <param name="Webhooks">The endpoints this key may see.</param>
public sealed record WebhookListResponse(IReadOnlyList<WebhookResponse> Webhooks);

/// <summary>The body of <c>POST /api/v1/webhooks/{id}/rotate-secret</c>.</summary>
/// <param name="Id">The endpoint.</param>
/// <param name="Secret">The new secret (shown once).</param>
/// <param name="PreviousSecretExpiresAt">Until then deliveries carry a signature with the previous secret too.</param>
public sealed record WebhookSecretResponse(string Id, string Secret, DateTimeOffset? PreviousSecretExpiresAt);

/// <summary>The body of <c>POST /api/v1/webhooks</c>.</summary>
/// <param name="Url">The receiver (required).</param>
/// <param name="EventTypes">The types to send (none or empty: all).</param>
/// <param name="Enabled">False to create it disabled; default true.</param>
public sealed record CreateWebhookRequest(string? Url, List<string?>? EventTypes, bool? Enabled);

/// <summary>The body of <c>PATCH /api/v1/webhooks/{id}</c>: each field given replaces the endpoint's.</summary>
/// <param name="Url">A new receiver.</param>
/// <param name="EventTypes">New types (empty: all).</param>
/// <param name="Enabled">False disables it; true enables it and clears its failures (a disabled state after the retry schedule ran out too), resuming at its cursor.</param>
public sealed record UpdateWebhookRequest(string? Url, List<string?>? EventTypes, bool? Enabled);

/// <summary>
/// The webhook endpoints: <c>GET /api/v1/webhooks</c> and <c>GET …/{id}</c> (scope <c>read</c>: the key's own,
/// <c>admin</c>: every one); <c>POST</c>, <c>PATCH …/{id}</c>, <c>DELETE …/{id}</c> and <c>POST …/{id}/rotate-secret</c>
/// (scope <c>send</c> for the key's own, <c>admin</c> for any). An endpoint created through the API receives the events
/// of its key's messages only. Configured endpoints (<c>MailGateway:Webhooks:Endpoints</c>) are listed, read-only.
/// </summary>
public sealed partial class WebhooksApi(
    ApiKeyAuthenticator authenticator,
    IOptions<WebhookOptions> options,
    IWebhookStateStore states,
    IWebhookRegistry registry,
    IOptionsMonitor<ApiOptions> apiOptions,
    TimeProvider time,
    ILogger<WebhooksApi> logger)
{
    /// <summary>The path.</summary>
    public const string WebhooksPath = "/api/v1/webhooks";

    /// <summary>The largest request body of the webhook endpoints.</summary>
    public const int MaxRequestBodyBytes = 16 * 1024;

    private const int MaxIdLength = 64;

    /// <summary>The most entries of <c>eventTypes</c> (there are 8 types; a longer list is refused as a whole, not entry by entry).</summary>
    public const int MaxEventTypes = 32;

    /// <summary>Lists the endpoints.</summary>
    public async Task<IResult> ListAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!MessagesApi.TryAuthorize(authenticator, context.Request, ApiKeyScopes.Read, orAdmin: false, out var caller, out var refusal))
        {
            return refusal;
        }

        var settings = options.Value;
        var list = new List<WebhookResponse>();
        try
        {
            for (var i = 0; i < settings.Endpoints.Count; i++)
            {
                if (MaySee(caller, settings.Endpoints[i]))
                {
                    list.Add(await ConfiguredAsync(settings, i, context.RequestAborted));
                }
            }

            foreach (var definition in await registry.ListAsync(caller.Has(ApiKeyScopes.Admin) ? null : caller.Id, context.RequestAborted))
            {
                list.Add(await CreatedAsync(definition, context.RequestAborted));
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Unavailable(ex);
        }

        return ApiResults.Json(new WebhookListResponse(list), WebhooksJsonContext.Default.WebhookListResponse, StatusCodes.Status200OK);
    }

    /// <summary><c>GET /api/v1/webhooks/{id}</c>.</summary>
    public async Task<IResult> GetAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!MessagesApi.TryAuthorize(authenticator, context.Request, ApiKeyScopes.Read, orAdmin: false, out var caller, out var refusal))
        {
            return refusal;
        }

        try
        {
            var settings = options.Value;
            if (ConfiguredIndex(settings, id) is { } index)
            {
                return MaySee(caller, settings.Endpoints[index]) ? Ok(await ConfiguredAsync(settings, index, context.RequestAborted)) : NotFound();
            }

            var definition = await FindAsync(caller, id, context.RequestAborted);
            return definition is null ? NotFound() : Ok(await CreatedAsync(definition, context.RequestAborted));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Unavailable(ex);
        }
    }

    /// <summary><c>POST /api/v1/webhooks</c>: 201 with the endpoint and its secret (shown this once).</summary>
    public async Task<IResult> CreateAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!MessagesApi.TryAuthorize(authenticator, context.Request, ApiKeyScopes.Send, orAdmin: true, out var caller, out var refusal))
        {
            return refusal;
        }

        var (request, problem) = await ReadAsync(context, WebhooksJsonContext.Default.CreateWebhookRequest);
        if (request is null)
        {
            return problem!;
        }

        var errors = new List<FieldError>();
        var settings = options.Value;
        if (string.IsNullOrEmpty(request.Url))
        {
            errors.Add(new FieldError("url", Core.Messages.ValidationCodes.Required, "'url' is required: the receiver's https URL."));
        }
        else if (settings.UrlProblem(request.Url) is { } urlProblem)
        {
            errors.Add(new FieldError("url", ApiErrorCodes.InvalidUrl, Capitalize(urlProblem)));
        }

        var types = EventTypes(request.EventTypes, errors);
        if (errors.Count > 0)
        {
            return ApiResults.ValidationProblem(errors);
        }

        var now = time.GetUtcNow();
        var definition = new WebhookDefinition(WebhookDefinition.NewId(), caller.Id, request.Url!, types, request.Enabled ?? true,
            WebhookSignature.NewSecret(), null, null, now);
        try
        {
            if (await registry.CreateAsync(definition, settings.MaxEndpointsPerKey, context.RequestAborted) == WebhookCreateOutcome.TooMany)
            {
                return ApiResults.Problem(StatusCodes.Status409Conflict, "Too many webhooks",
                    $"This API key has {settings.MaxEndpointsPerKey} webhook endpoints already (MaxEndpointsPerKey); delete one first.",
                    [new FieldError("", ApiErrorCodes.TooManyWebhooks, $"At most {settings.MaxEndpointsPerKey} endpoints per API key.")]);
            }

            LogCreated(definition.Id, caller.Id);
            var created = await CreatedAsync(definition, context.RequestAborted) with { Secret = definition.Secret };
            return ApiResults.Json(created, WebhooksJsonContext.Default.WebhookResponse, StatusCodes.Status201Created, $"{WebhooksPath}/{definition.Id}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Unavailable(ex);
        }
    }

    /// <summary><c>PATCH /api/v1/webhooks/{id}</c>: change the URL, the event types or <c>enabled</c>.</summary>
    public async Task<IResult> UpdateAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!MessagesApi.TryAuthorize(authenticator, context.Request, ApiKeyScopes.Send, orAdmin: true, out var caller, out var refusal))
        {
            return refusal;
        }

        try
        {
            if (await ManageableAsync(caller, id, context.RequestAborted) is { } refused)
            {
                return refused;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Unavailable(ex);
        }

        var (request, problem) = await ReadAsync(context, WebhooksJsonContext.Default.UpdateWebhookRequest);
        if (request is null)
        {
            return problem!;
        }

        var errors = new List<FieldError>();
        if (request.Url is not null && options.Value.UrlProblem(request.Url) is { } urlProblem)
        {
            errors.Add(new FieldError("url", ApiErrorCodes.InvalidUrl, Capitalize(urlProblem)));
        }

        var types = request.EventTypes is null ? null : EventTypes(request.EventTypes, errors);
        if (errors.Count > 0)
        {
            return ApiResults.ValidationProblem(errors);
        }

        try
        {
            var updated = await registry.UpdateAsync(id, d => d with
            {
                Url = request.Url ?? d.Url,
                EventTypes = types ?? d.EventTypes,
                Enabled = request.Enabled ?? d.Enabled,
            }, resetDeliveryState: request.Enabled == true, context.RequestAborted);
            return updated is null || !caller.MayAccess(updated.Owner) ? NotFound() : Ok(await CreatedAsync(updated, context.RequestAborted));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Unavailable(ex);
        }
    }

    /// <summary><c>DELETE /api/v1/webhooks/{id}</c>: 204; nothing more is sent to it.</summary>
    public async Task<IResult> DeleteAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!MessagesApi.TryAuthorize(authenticator, context.Request, ApiKeyScopes.Send, orAdmin: true, out var caller, out var refusal))
        {
            return refusal;
        }

        try
        {
            if (await ManageableAsync(caller, id, context.RequestAborted) is { } refused)
            {
                return refused;
            }

            if (!await registry.DeleteAsync(id, context.RequestAborted))
            {
                return NotFound();
            }

            LogDeleted(id, caller.Id);
            return new MessagesApi.NoContentResult();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Unavailable(ex);
        }
    }

    /// <summary>
    /// <c>POST /api/v1/webhooks/{id}/rotate-secret</c>: a new secret (shown this once); the previous one keeps signing
    /// for <see cref="WebhookOptions.SecretRotationGrace"/>, so deliveries carry both signatures meanwhile.
    /// </summary>
    public async Task<IResult> RotateSecretAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!MessagesApi.TryAuthorize(authenticator, context.Request, ApiKeyScopes.Send, orAdmin: true, out var caller, out var refusal))
        {
            return refusal;
        }

        try
        {
            if (await ManageableAsync(caller, id, context.RequestAborted) is { } refused)
            {
                return refused;
            }

            var grace = options.Value.SecretRotationGrace;
            var secret = WebhookSignature.NewSecret();
            var now = time.GetUtcNow();
            var updated = await registry.UpdateAsync(id, d => d with
            {
                Secret = secret,
                PreviousSecret = grace > TimeSpan.Zero ? d.Secret : null,
                PreviousSecretExpiresAt = grace > TimeSpan.Zero ? now + grace : null,
            }, resetDeliveryState: false, context.RequestAborted);
            if (updated is null)
            {
                return NotFound();
            }

            LogRotated(id, caller.Id);
            return ApiResults.Json(new WebhookSecretResponse(id, secret, updated.PreviousSecretExpiresAt), WebhooksJsonContext.Default.WebhookSecretResponse, StatusCodes.Status200OK);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Unavailable(ex);
        }
    }

    /// <summary>Null when <paramref name="caller"/> may change <paramref name="id"/>; else the 404 or the 409 of a configured endpoint.</summary>
    private async Task<IResult?> ManageableAsync(VerifiedApiKey caller, string id, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (ConfiguredIndex(settings, id) is { } index)
        {
            return !MaySee(caller, settings.Endpoints[index])
                ? NotFound()
                : ApiResults.Problem(StatusCodes.Status409Conflict, "Configured webhook",
                    "This endpoint is configured at start (MailGateway:Webhooks:Endpoints); change it in the configuration.",
                    [new FieldError("id", ApiErrorCodes.ConfiguredWebhook, "A configured endpoint is read-only through the API.")]);
        }

        return await FindAsync(caller, id, cancellationToken) is null ? NotFound() : null;
    }

    private async Task<WebhookDefinition?> FindAsync(VerifiedApiKey caller, string id, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength || !id.StartsWith(WebhookDefinition.IdPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var definition = await registry.GetAsync(id, cancellationToken);
        return definition is not null && caller.MayAccess(definition.Owner) ? definition : null;
    }

    private static int? ConfiguredIndex(WebhookOptions settings, string id)
    {
        for (var i = 0; i < settings.Endpoints.Count; i++)
        {
            if (string.Equals(settings.NameOf(i), id, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return null;
    }

    private static bool MaySee(VerifiedApiKey caller, WebhookEndpointOptions endpoint) =>
        string.Equals(endpoint.KeyId, caller.Id, StringComparison.Ordinal) || caller.Has(ApiKeyScopes.Admin);

    /// <summary>The event types of a request: each a known type (else <c>invalid_type</c>), duplicates once.</summary>
    private static List<string> EventTypes(List<string?>? requested, List<FieldError> errors)
    {
        var types = new List<string>();
        if (requested?.Count > MaxEventTypes)
        {
            errors.Add(new FieldError("eventTypes", ApiErrorCodes.InvalidType, $"At most {MaxEventTypes} entries ({string.Join(", ", MessageEventTypes.All)})."));
            return types;
        }

        for (var i = 0; i < (requested?.Count ?? 0); i++)
        {
            var type = requested![i];
            if (type is null || !MessageEventTypes.All.Contains(type, StringComparer.Ordinal))
            {
                errors.Add(new FieldError($"eventTypes[{i.ToString(CultureInfo.InvariantCulture)}]", ApiErrorCodes.InvalidType,
                    $"Not an event type ({string.Join(", ", MessageEventTypes.All)})."));
            }
            else if (!types.Contains(type, StringComparer.Ordinal))
            {
                types.Add(type);
            }
        }

        return types;
    }

    private static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        if (!context.Request.HasJsonContentType())
        {
            return (null, ApiResults.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Send the body as JSON with 'Content-Type: application/json'."));
        }

        if (context.Request.ContentLength > MaxRequestBodyBytes)
        {
            return (null, ApiResults.Problem(StatusCodes.Status413RequestEntityTooLarge, "Request too large", $"The request body is larger than {MaxRequestBodyBytes} bytes."));
        }

        var (body, error) = await MessagesApi.ReadBodyAsync(context, MaxRequestBodyBytes);
        if (error is not null)
        {
            return (null, error);
        }

        if (!MessagesApi.TryDeserialize(body, type, out var value, out var problem))
        {
            return (null, problem);
        }

        return value is null
            ? (null, ApiResults.ValidationProblem([new FieldError("", ApiErrorCodes.InvalidJson, "The body is a JSON object.")]))
            : (value, null);
    }

    private async Task<WebhookResponse> ConfiguredAsync(WebhookOptions settings, int index, CancellationToken cancellationToken)
    {
        var endpoint = settings.Endpoints[index];
        var state = await states.GetOrCreateAsync(settings.NameOf(index), cancellationToken);
        return Response(state.Name, "configuration", endpoint.Url, endpoint.EventTypes, true, state) with
        {
            ApiKey = string.IsNullOrEmpty(endpoint.KeyId) ? null : endpoint.KeyId,
        };
    }

    private async Task<WebhookResponse> CreatedAsync(WebhookDefinition definition, CancellationToken cancellationToken)
    {
        var state = await states.GetOrCreateAsync(definition.Id, cancellationToken);
        var now = time.GetUtcNow();
        return Response(definition.Id, "api", definition.Url, definition.EventTypes, definition.Enabled, state) with
        {
            ApiKey = definition.Owner,
            CreatedAt = definition.CreatedAt,
            PreviousSecretExpiresAt = definition.PreviousSecretExpiresAt is { } until && until > now && definition.PreviousSecret is not null ? until : null,
        };
    }

    private static WebhookResponse Response(string id, string source, string url, IReadOnlyList<string> types, bool enabled, WebhookEndpointState state)
    {
        var reason = !enabled
            ? "Disabled through the API; PATCH {\"enabled\": true} resumes at the cursor."
            : state.Disabled
                ? source == "api"
                    ? "The retry schedule ran out (10 attempts over about three days); PATCH {\"enabled\": true} resumes at the cursor."
                    : "The retry schedule ran out (10 attempts over about three days); reset its row in webhook_endpoints to resume."
                : null;
        return new WebhookResponse(id, state.Name, source, url, types, enabled && !state.Disabled, reason,
            state.Cursor, state.Failures,
            state.FailingSince, state.NextAttemptAt, state.LastStatus, state.LastError);
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static IResult Ok(WebhookResponse response) => ApiResults.Json(response, WebhooksJsonContext.Default.WebhookResponse, StatusCodes.Status200OK);

    private static IResult NotFound() => ApiResults.Problem(StatusCodes.Status404NotFound, "Not found", "No webhook endpoint with this id belongs to this API key.");

    private IResult Unavailable(Exception ex)
    {
        LogStoreUnavailable(ex);
        return ApiResults.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", "The webhook state is unavailable.",
            headers: new Dictionary<string, string> { ["Retry-After"] = ((int)Math.Ceiling(apiOptions.CurrentValue.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture) });
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The webhook state is unavailable")]
    private partial void LogStoreUnavailable(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook endpoint {WebhookId} created by key {KeyId}")]
    private partial void LogCreated(string webhookId, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook endpoint {WebhookId} deleted by key {KeyId}")]
    private partial void LogDeleted(string webhookId, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook endpoint {WebhookId}: secret rotated by key {KeyId}")]
    private partial void LogRotated(string webhookId, string keyId);
}

/// <summary>Registration and routes of <see cref="WebhooksApi"/> (hosts with webhook delivery).</summary>
public static class WebhooksApiExtensions
{
    /// <summary>Registers <see cref="WebhooksApi"/>; the host registers its <see cref="IWebhookStateStore"/>, <see cref="IWebhookRegistry"/> and <see cref="WebhookOptions"/>.</summary>
    public static IServiceCollection AddMailGatewayWebhooksApi(this IServiceCollection services)
    {
        services.TryAddSingleton<WebhooksApi>();
        return services;
    }

    /// <summary>Maps the webhook endpoints under <c>/api/v1/webhooks</c>.</summary>
    public static IEndpointRouteBuilder MapMailGatewayWebhooksApi(this IEndpointRouteBuilder endpoints)
    {
        var webhooks = endpoints.MapGroup(WebhooksApi.WebhooksPath).WithTags("Webhooks");
        webhooks.MapGet("", (HttpContext context, WebhooksApi api) => api.ListAsync(context))
            .WithName("ListWebhooks")
            .WithSummary("The webhook endpoints of this API key (admin: every one), with their delivery state (never a secret)")
            .Produces<WebhookListResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        webhooks.MapPost("", (HttpContext context, WebhooksApi api) => api.CreateAsync(context))
            .WithName("CreateWebhook")
            .WithSummary("Create a webhook endpoint for this API key's events; the answer shows its secret once")
            .Produces<WebhookResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413RequestEntityTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        webhooks.MapGet("{id}", (HttpContext context, string id, WebhooksApi api) => api.GetAsync(context, id))
            .WithName("GetWebhook")
            .WithSummary("One webhook endpoint and its delivery state (last status, error, next attempt, disabled reason)")
            .Produces<WebhookResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        webhooks.MapPatch("{id}", (HttpContext context, string id, WebhooksApi api) => api.UpdateAsync(context, id))
            .WithName("UpdateWebhook")
            .WithSummary("Change a webhook endpoint's url, event types or enabled flag (enabled: true also clears its failures)")
            .Produces<WebhookResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413RequestEntityTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        webhooks.MapDelete("{id}", (HttpContext context, string id, WebhooksApi api) => api.DeleteAsync(context, id))
            .WithName("DeleteWebhook")
            .WithSummary("Delete a webhook endpoint and its delivery state")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        webhooks.MapPost("{id}/rotate-secret", (HttpContext context, string id, WebhooksApi api) => api.RotateSecretAsync(context, id))
            .WithName("RotateWebhookSecret")
            .WithSummary("A new signing secret, shown once; the previous one keeps signing during the grace period (two signatures)")
            .Produces<WebhookSecretResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }
}

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookListResponse))]
[JsonSerializable(typeof(WebhookResponse))]
[JsonSerializable(typeof(WebhookSecretResponse))]
[JsonSerializable(typeof(CreateWebhookRequest))]
[JsonSerializable(typeof(UpdateWebhookRequest))]
internal sealed partial class WebhooksJsonContext : JsonSerializerContext;
