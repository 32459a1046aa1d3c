using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailGateway.Client;

public partial class MailGatewayClient
{
    private SuppressionsClient? _suppressions;

    /// <summary>The suppression list (<c>/api/v1/suppressions</c>): addresses this key's messages are not sent to. Both hosts (SQLite; Table storage on Azure).</summary>
    public virtual SuppressionsClient Suppressions => _suppressions ??= new SuppressionsClient(_connection);
}

/// <summary>One entry of a suppression list.</summary>
public sealed class Suppression
{
    /// <summary>The address (lower case).</summary>
    public string Address { get; init; } = "";

    /// <summary>The key whose messages are not sent to it.</summary>
    public string ApiKey { get; init; } = "";

    /// <summary><c>manual</c>, <c>hard_bounce</c> (5.1.x at RCPT), <c>bounce</c> (a DSN) or <c>complaint</c> (an ARF report).</summary>
    public string Reason { get; init; } = "";

    /// <summary>When it was added.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it stops applying; null for never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The reply, report or note that caused it.</summary>
    public string? Detail { get; init; }

    /// <summary>The message whose bounce caused it.</summary>
    public string? MessageId { get; init; }
}

/// <summary>A page of suppression entries; pass <see cref="Next"/> as <see cref="SuppressionListQuery.Cursor"/> for the next one.</summary>
public sealed class SuppressionPage
{
    /// <summary>The entries, ordered by key and address.</summary>
    public IReadOnlyList<Suppression> Suppressions { get; init; } = [];

    /// <summary>The cursor of the next page; null after the last.</summary>
    public string? Next { get; init; }
}

/// <summary>What <see cref="SuppressionsClient.ListAsync"/> asks for.</summary>
public sealed class SuppressionListQuery
{
    /// <summary>Only this address.</summary>
    public string? Address { get; init; }

    /// <summary>Another key's list (needs the <c>admin</c> scope); an admin without it sees every key's.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The <see cref="SuppressionPage.Next"/> of the previous page.</summary>
    public string? Cursor { get; init; }

    /// <summary>The page size, 1-1000 (default 100).</summary>
    public int? Limit { get; init; }
}

/// <summary>The suppression list resource, <c>/api/v1/suppressions</c>.</summary>
public class SuppressionsClient
{
    private const string Path = "api/v1/suppressions";

    private readonly GatewayConnection _connection = null!;

    internal SuppressionsClient(GatewayConnection connection) => _connection = connection;

    /// <summary>For mocking in tests of your own code: every public member is virtual.</summary>
    protected SuppressionsClient()
    {
    }

    /// <summary><c>GET /api/v1/suppressions</c>: one page of active entries (scope <c>read</c>: the key's own; <c>admin</c>: every key's).</summary>
    /// <exception cref="MailGatewayException">400 for a bad query, 401, 403 without the scope.</exception>
    public virtual Task<SuppressionPage> ListAsync(SuppressionListQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new SuppressionListQuery();
        var parameters = new List<string>();
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                parameters.Add(name + "=" + Uri.EscapeDataString(value));
            }
        }

        Add("address", query.Address);
        Add("apiKey", query.ApiKey);
        Add("cursor", query.Cursor);
        Add("limit", query.Limit?.ToString(CultureInfo.InvariantCulture));
        var path = parameters.Count == 0 ? Path : Path + "?" + string.Join('&', parameters);
        return _connection.SendAsync(HttpMethod.Get, path, null, SuppressionsJsonContext.Default.SuppressionPage, null, cancellationToken);
    }

    /// <summary>
    /// <c>POST /api/v1/suppressions</c>: adds 1-1000 addresses (reason <c>manual</c>), replacing existing entries of the
    /// same addresses; safe to retry. <paramref name="apiKey"/>: another key's list (needs <c>admin</c>).
    /// </summary>
    /// <exception cref="MailGatewayException">400 with every field error, 401, 403, 413.</exception>
    public virtual async Task<IReadOnlyList<Suppression>> AddAsync(
        IEnumerable<string> addresses, DateTimeOffset? expiresAt = null, string? note = null, string? apiKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var body = JsonSerializer.SerializeToUtf8Bytes(new AddRequest([.. addresses], expiresAt, note, apiKey), SuppressionsJsonContext.Default.AddRequest);
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        var page = await _connection.SendAsync(HttpMethod.Post, Path, content, SuppressionsJsonContext.Default.SuppressionPage, null, cancellationToken);
        return page.Suppressions;
    }

    /// <summary>
    /// <c>DELETE /api/v1/suppressions/{address}</c>: true when removed, false when the list had no such address (also
    /// when a retry follows a first attempt whose answer was lost). <paramref name="apiKey"/>: another key's list (<c>admin</c>).
    /// </summary>
    /// <exception cref="MailGatewayException">400 for a path that is no address, 401, 403.</exception>
    public virtual Task<bool> RemoveAsync(string address, string? apiKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        var path = $"{Path}/{Uri.EscapeDataString(address)}" + (apiKey is null ? "" : "?apiKey=" + Uri.EscapeDataString(apiKey));
        return _connection.SendWithoutAnswerAsync(HttpMethod.Delete, path, cancellationToken);
    }

    internal sealed record AddRequest(IReadOnlyList<string> Addresses, DateTimeOffset? ExpiresAt, string? Note, string? ApiKey);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SuppressionPage))]
[JsonSerializable(typeof(SuppressionsClient.AddRequest))]
internal sealed partial class SuppressionsJsonContext : JsonSerializerContext;
