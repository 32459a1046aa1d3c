using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Suppressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace MailGateway.Api;

/// <summary>The body of <c>POST /api/v1/suppressions</c>.</summary>
/// <param name="Addresses">The addresses to suppress (1 to <see cref="SuppressionsApi.MaxAddresses"/>).</param>
/// <param name="ExpiresAt">When the entries stop applying (in the future); none for never.</param>
/// <param name="Note">A note kept as the entries' detail (at most 512 characters).</param>
/// <param name="ApiKey">The key whose list to add to: the caller's own when left out; another key's needs the admin scope.</param>
public sealed record AddSuppressionsRequest(
    IReadOnlyList<string?>? Addresses,
    [property: JsonConverter(typeof(OffsetRequiredDateTimeConverter))] DateTimeOffset? ExpiresAt,
    string? Note,
    string? ApiKey);

/// <summary>One entry of a suppression list.</summary>
/// <param name="Address">The address (lower case).</param>
/// <param name="ApiKey">The key whose messages are not sent to it.</param>
/// <param name="Reason"><c>manual</c>, <c>hard_bounce</c> (5.1.x at RCPT), <c>bounce</c> (a DSN), <c>complaint</c> (an ARF report).</param>
/// <param name="CreatedAt">When it was added.</param>
/// <param name="ExpiresAt">When it stops applying; left out for never.</param>
/// <param name="Detail">The reply, report or note that caused it.</param>
/// <param name="MessageId">The message whose bounce caused it.</param>
public sealed record SuppressionResponse(string Address, string ApiKey, string Reason, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, string? Detail, string? MessageId)
{
    internal static SuppressionResponse From(SuppressionEntry e) => new(e.Address, e.Owner, e.Reason, e.CreatedAt, e.ExpiresAt, e.Detail, e.MessageId);
}

/// <summary>A page of suppression entries, ordered by key and address.</summary>
/// <param name="Suppressions">The entries.</param>
/// <param name="Next">The cursor of the next page, or null after the last.</param>
public sealed record SuppressionListResponse(IReadOnlyList<SuppressionResponse> Suppressions, string? Next);

/// <summary>
/// <c>GET/POST /api/v1/suppressions</c> and <c>DELETE /api/v1/suppressions/{address}</c>: the per-key suppression list.
/// Scopes: <c>read</c> lists one's own entries, <c>admin</c> every key's; <c>send</c> adds and removes one's own,
/// <c>admin</c> any key's (with <c>apiKey</c>). Entries of other keys are invisible without admin.
/// </summary>
public sealed partial class SuppressionsApi(ApiKeyAuthenticator authenticator, ISuppressionList list, TimeProvider time, IOptionsMonitor<ApiOptions> options, ILogger<SuppressionsApi> logger)
{
    /// <summary>The path.</summary>
    public const string Path = "/api/v1/suppressions";

    /// <summary>The most addresses one POST adds.</summary>
    public const int MaxAddresses = 1000;

    /// <summary>The largest POST body, in bytes.</summary>
    public const int MaxBodyBytes = 512 * 1024;

    /// <summary>The one query parameter of the remove operation.</summary>
    private static readonly IReadOnlyList<string> RemoveParameters = ["apiKey"];

    /// <summary>The page size without <c>limit</c>.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The largest <c>limit</c>.</summary>
    public const int MaxLimit = 1000;

    private const int MaxNoteLength = SuppressionAddress.MaxDetailLength;
    private const int MaxKeyIdLength = 128;
    private static readonly string[] ListParameters = ["address", "apiKey", "cursor", "limit"];

    /// <summary><c>GET /api/v1/suppressions?address=&amp;apiKey=&amp;cursor=&amp;limit=</c>.</summary>
    public async Task<IResult> ListAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Read, out var caller, out var refusal))
        {
            return refusal;
        }

        var query = context.Request.Query;
        var errors = QueryParameters.Check(query, ListParameters);

        var address = QueryParameters.Value(query, "address");
        if (address is not null && AddressSyntax.Check(address) is { } addressError)
        {
            errors.Add(new FieldError("address", addressError, "'address' is an email address."));
        }

        var owner = QueryParameters.Value(query, "apiKey");
        if (owner is not null && (owner.Length is 0 or > MaxKeyIdLength))
        {
            errors.Add(new FieldError("apiKey", ApiErrorCodes.InvalidValue, $"'apiKey' is a key id of 1-{MaxKeyIdLength} characters."));
        }

        (string, string)? after = null;
        if (QueryParameters.Value(query, "cursor") is { } cursor)
        {
            if (TryParseCursor(cursor) is { } parsed)
            {
                after = parsed;
            }
            else
            {
                errors.Add(new FieldError("cursor", ApiErrorCodes.InvalidCursor, "'cursor' is the 'next' of an earlier page."));
            }
        }

        var limit = DefaultLimit;
        if (QueryParameters.Value(query, "limit") is { } text
            && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            errors.Add(new FieldError("limit", ApiErrorCodes.InvalidLimit, $"'limit' is a whole number from 1 to {MaxLimit}."));
        }

        if (errors.Count > 0)
        {
            return ApiResults.ValidationProblem(errors);
        }

        // Without admin a key sees its own list only; an admin sees every key's, or the one named by apiKey.
        var isAdmin = caller.Has(ApiKeyScopes.Admin);
        if (owner is not null && !isAdmin && !string.Equals(owner, caller.Id, StringComparison.Ordinal))
        {
            return MessagesApi.MissingScope(ApiKeyScopes.Admin);
        }

        var scope = isAdmin ? owner : caller.Id;
        IReadOnlyList<SuppressionEntry> page;
        try
        {
            page = await list.ListAsync(new SuppressionQuery(scope, time.GetUtcNow(), after, limit + 1, address), context.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUnavailable(ex);
            return Unavailable();
        }

        var shown = page.Take(limit).ToList();
        var next = page.Count > limit ? FormatCursor(shown[^1].Owner, shown[^1].Address) : null;
        return ApiResults.Json(new SuppressionListResponse([.. shown.Select(SuppressionResponse.From)], next),
            SuppressionsJsonContext.Default.SuppressionListResponse, StatusCodes.Status200OK);
    }

    /// <summary><c>POST /api/v1/suppressions</c>: adds (or replaces) entries with reason <c>manual</c>; 200 with the entries.</summary>
    public async Task<IResult> AddAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Send, out var caller, out var refusal))
        {
            return refusal;
        }

        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return ApiResults.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Send JSON with 'Content-Type: application/json'.");
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return TooLarge();
        }

        var (body, tooLarge) = await ReadBodyAsync(context);
        if (tooLarge)
        {
            return TooLarge();
        }

        AddSuppressionsRequest? dto;
        try
        {
            dto = JsonSerializer.Deserialize(body.Span, SuppressionsJsonContext.Default.AddSuppressionsRequest);
        }
        catch (JsonException ex)
        {
            var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "" : ex.Path.TrimStart('$').TrimStart('.');
            return ApiResults.ValidationProblem([ex is OffsetRequiredException
                ? new FieldError(path, ValidationCodes.OffsetRequired, ex.Message)
                : new FieldError(path, ApiErrorCodes.InvalidJson, "The body is not the expected JSON object (unknown property, wrong type or not JSON).")]);
        }

        var errors = new List<FieldError>();
        var now = time.GetUtcNow();
        var addresses = dto?.Addresses;
        if (addresses is null || addresses.Count == 0)
        {
            errors.Add(new FieldError("addresses", ValidationCodes.Required, "'addresses' lists 1 or more addresses."));
        }
        else if (addresses.Count > MaxAddresses)
        {
            errors.Add(new FieldError("addresses", ApiErrorCodes.TooManyAddresses, $"At most {MaxAddresses} addresses per request."));
        }
        else
        {
            for (var i = 0; i < addresses.Count && errors.Count < 20; i++)
            {
                if (AddressSyntax.Check(addresses[i]?.Trim()) is { } code)
                {
                    errors.Add(new FieldError($"addresses[{i}]", code, "Not a valid email address."));
                }
            }
        }

        if (dto?.ExpiresAt is { } expires && expires <= now)
        {
            errors.Add(new FieldError("expiresAt", ApiErrorCodes.InThePast, "'expiresAt' must be in the future."));
        }

        if (dto?.Note is { Length: > MaxNoteLength })
        {
            errors.Add(new FieldError("note", ValidationCodes.ValueTooLong, $"'note' is at most {MaxNoteLength} characters."));
        }

        if (dto?.ApiKey is { } key && (key.Length is 0 or > MaxKeyIdLength))
        {
            errors.Add(new FieldError("apiKey", ApiErrorCodes.InvalidValue, $"'apiKey' is a key id of 1-{MaxKeyIdLength} characters."));
        }

        if (errors.Count > 0)
        {
            return ApiResults.ValidationProblem(errors);
        }

        if (!TryOwner(caller, dto!.ApiKey, out var owner, out refusal))
        {
            return refusal;
        }

        var entries = addresses!.Select(a => SuppressionAddress.Normalize(a!)).Distinct(StringComparer.Ordinal)
            .Select(a => new SuppressionEntry(owner, a, SuppressionReasons.Manual, now, dto.ExpiresAt, SuppressionAddress.Detail(dto.Note)))
            .ToList();
        try
        {
            foreach (var entry in entries)
            {
                await list.AddAsync(entry, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUnavailable(ex);
            return Unavailable();
        }

        LogAdded(entries.Count, owner, caller.Id);
        return ApiResults.Json(new SuppressionListResponse([.. entries.Select(SuppressionResponse.From)], null),
            SuppressionsJsonContext.Default.SuppressionListResponse, StatusCodes.Status200OK);
    }

    /// <summary><c>DELETE /api/v1/suppressions/{address}?apiKey=</c>: 204, or 404 when the key has no such entry.</summary>
    public async Task<IResult> RemoveAsync(HttpContext context, string address)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!TryAuthorize(context.Request, ApiKeyScopes.Send, out var caller, out var refusal))
        {
            return refusal;
        }

        var errors = new List<FieldError>();
        if (AddressSyntax.Check(address) is { } code)
        {
            errors.Add(new FieldError("address", code, "The path ends with an email address."));
        }

        var query = context.Request.Query;
        errors.AddRange(QueryParameters.Check(query, RemoveParameters));

        var requested = QueryParameters.Value(query, "apiKey");
        if (requested is not null && (requested.Length is 0 or > MaxKeyIdLength))
        {
            errors.Add(new FieldError("apiKey", ApiErrorCodes.InvalidValue, $"'apiKey' is a key id of 1-{MaxKeyIdLength} characters."));
        }

        if (errors.Count > 0)
        {
            return ApiResults.ValidationProblem(errors);
        }

        if (!TryOwner(caller, requested, out var owner, out refusal))
        {
            return refusal;
        }

        bool removed;
        try
        {
            removed = await list.RemoveAsync(owner, address, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUnavailable(ex);
            return Unavailable();
        }

        return removed
            ? Results.NoContent()
            : ApiResults.Problem(StatusCodes.Status404NotFound, "Not found", "This API key's suppression list has no such address.");
    }

    /// <summary>The answer of a host without a suppression list (the Azure hosts, for now): 501 problem+json.</summary>
    public static IResult NotImplemented() =>
        ApiResults.Problem(StatusCodes.Status501NotImplemented, "Not implemented",
            "Suppression lists are available in the standalone host only; this host has none yet.");

    private bool TryAuthorize(HttpRequest request, string scope,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out VerifiedApiKey? caller,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out IResult? refusal)
    {
        caller = authenticator.Authenticate(request);
        if (caller is null)
        {
            refusal = ApiResults.Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
                "Send a valid API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
                headers: new Dictionary<string, string> { ["WWW-Authenticate"] = "Bearer realm=\"MailGateway\"" });
            return false;
        }

        if (!caller.Has(scope) && !caller.Has(ApiKeyScopes.Admin))
        {
            refusal = MessagesApi.MissingScope(scope);
            caller = null;
            return false;
        }

        refusal = null;
        return true;
    }

    /// <summary>The key whose list a write changes: the caller's own, or (admin only) the one named.</summary>
    private static bool TryOwner(VerifiedApiKey caller, string? requested, out string owner,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out IResult? refusal)
    {
        owner = requested ?? caller.Id;
        if (!string.Equals(owner, caller.Id, StringComparison.Ordinal) && !caller.Has(ApiKeyScopes.Admin))
        {
            refusal = MessagesApi.MissingScope(ApiKeyScopes.Admin);
            return false;
        }

        refusal = null;
        return true;
    }

    private static async Task<(ReadOnlyMemory<byte> Body, bool TooLarge)> ReadBodyAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = MaxBodyBytes;
        }

        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > MaxBodyBytes)
                {
                    return (default, true);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, true);
        }

        return (buffer.GetBuffer().AsMemory(0, (int)buffer.Length), false);
    }

    /// <summary>The cursor: base64url of "owner\naddress".</summary>
    internal static string FormatCursor(string owner, string address) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(owner + "\n" + address)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static (string Owner, string Address)? TryParseCursor(string cursor)
    {
        if (cursor.Length is 0 or > 600)
        {
            return null;
        }

        var base64 = cursor.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        var bytes = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64, bytes, out var written))
        {
            return null;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        var split = text.Split('\n');
        return split.Length == 2 && split[0].Length > 0 && split[1].Length > 0 ? (split[0], split[1]) : null;
    }

    private static IResult TooLarge() =>
        ApiResults.Problem(StatusCodes.Status413RequestEntityTooLarge, "Request too large", $"The request body is larger than {MaxBodyBytes} bytes.");

    private IResult Unavailable() =>
        ApiResults.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", "The suppression list is unavailable.",
            headers: new Dictionary<string, string> { ["Retry-After"] = ((int)Math.Ceiling(options.CurrentValue.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture) });

    [LoggerMessage(Level = LogLevel.Error, Message = "The suppression list is unavailable")]
    private partial void LogUnavailable(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} suppression(s) added to key {Owner}'s list with key {KeyId}")]
    private partial void LogAdded(int count, string owner, string keyId);
}

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AddSuppressionsRequest))]
[JsonSerializable(typeof(SuppressionListResponse))]
internal sealed partial class SuppressionsJsonContext : JsonSerializerContext;

/// <summary>Registration and routes of the suppression endpoints (hosts with an <see cref="ISuppressionList"/>).</summary>
public static class SuppressionsApiExtensions
{
    /// <summary>Registers <see cref="SuppressionsApi"/>; the host registers its <see cref="ISuppressionList"/>.</summary>
    public static IServiceCollection AddMailGatewaySuppressionsApi(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SuppressionsApi>();
        return services;
    }

    /// <summary>Maps <c>GET</c> and <c>POST /api/v1/suppressions</c> and <c>DELETE /api/v1/suppressions/{address}</c>.</summary>
    public static IEndpointRouteBuilder MapMailGatewaySuppressionsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(SuppressionsApi.Path).WithTags("Suppressions");
        group.MapGet("", (HttpContext context, SuppressionsApi api) => api.ListAsync(context))
            .WithName("ListSuppressions")
            .WithSummary("The suppression list: this key's entries (admin: every key's), by key and address")
            .WithDescription("Optional 'address', 'apiKey' (admin only, or one's own), 'cursor' (the previous page's 'next'), 'limit' (1-1000, default 100). Expired entries are left out. Scope read (own) or admin (all).")
            .Produces<SuppressionListResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapPost("", (HttpContext context, SuppressionsApi api) => api.AddAsync(context))
            .WithName("AddSuppressions")
            .WithSummary("Adds addresses to a suppression list (reason manual); an existing entry is replaced")
            .WithDescription("1-1000 addresses, optional 'expiresAt' (future), 'note', 'apiKey' (another key's list: admin only). Scope send (own list) or admin (any).")
            .Accepts<AddSuppressionsRequest>("application/json")
            .Produces<SuppressionListResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapDelete("{address}", (HttpContext context, string address, SuppressionsApi api) => api.RemoveAsync(context, address))
            .WithName("RemoveSuppression")
            .WithSummary("Removes an address from a suppression list")
            .WithDescription("Optional 'apiKey' (another key's list: admin only). Scope send (own list) or admin (any).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }
}
