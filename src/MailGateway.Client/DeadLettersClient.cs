using System.Globalization;
using System.Runtime.CompilerServices;

namespace MailGateway.Client;

/// <summary>A dead letter: a delivery job the gateway gave up on.</summary>
public sealed class DeadLetter
{
    /// <summary>The dead letter's id (digits; not the message id).</summary>
    public string Id { get; init; } = "";

    /// <summary>The message.</summary>
    public string MessageId { get; init; } = "";

    /// <summary>The id of the API key that sent the message.</summary>
    public string ApiKey { get; init; } = "";

    /// <summary>Why the job was given up: <c>Failed</c>, <c>Expired</c>, <c>Unknown</c>, <c>ContentMissing</c>, <c>MalformedJob</c>, <c>TooManyDeliveries</c>.</summary>
    public string Reason { get; init; } = "";

    /// <summary>The last reply or the reason in words.</summary>
    public string Description { get; init; } = "";

    /// <summary>The attempt number of the dead job.</summary>
    public int Attempt { get; init; }

    /// <summary>How often the queue handed the job out.</summary>
    public int DeliveryCount { get; init; }

    /// <summary>When it was dead-lettered.</summary>
    public DateTimeOffset DeadLetteredAt { get; init; }

    /// <summary>The recipients of the dead job.</summary>
    public IReadOnlyList<string> Recipients { get => field ?? []; init; }

    /// <summary>The message's status (only from <see cref="DeadLettersClient.GetAsync"/>, and when the status record still exists).</summary>
    public MessageDetails? Message { get; init; }
}

/// <summary>One page of dead letters, newest first.</summary>
public sealed class DeadLetterPage
{
    /// <summary>The dead letters (without <see cref="DeadLetter.Message"/>).</summary>
    public IReadOnlyList<DeadLetter> Items { get => field ?? []; init; }

    /// <summary>The cursor of the next page; null on the last page.</summary>
    public string? NextCursor { get; init; }
}

/// <summary>The filters of <see cref="DeadLettersClient.ListAsync"/>; every one optional.</summary>
public sealed class DeadLetterQuery
{
    /// <summary>Only this reason (see <see cref="DeadLetter.Reason"/>).</summary>
    public string? Reason { get; init; }

    /// <summary>Dead-lettered at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Dead-lettered before this time.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>The previous page's <see cref="DeadLetterPage.NextCursor"/>.</summary>
    public string? Cursor { get; init; }

    /// <summary>Page size, 1-100 (the gateway's default 50).</summary>
    public int? Limit { get; init; }
}

/// <summary>The filter of a bulk replay or purge (<see cref="DeadLettersClient.ReplayMatchingAsync"/>).</summary>
public sealed class DeadLetterFilter
{
    /// <summary>Only this reason (Failed, Expired, Unknown, ContentMissing, MalformedJob, TooManyDeliveries).</summary>
    public string? Reason { get; init; }

    /// <summary>Dead-lettered at or after.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Dead-lettered before.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>At most this many per call, 1-1000 (the gateway's default 100).</summary>
    public int? Limit { get; init; }
}

/// <summary>What a bulk call did to one dead letter.</summary>
public sealed class DeadLetterBulkItem
{
    /// <summary>The dead letter's id.</summary>
    public string Id { get; init; } = "";

    /// <summary>Its message.</summary>
    public string MessageId { get; init; } = "";

    /// <summary><c>replayed</c>, <c>purged</c>, <c>not_replayable</c> (left in place) or <c>gone</c> (a concurrent replay or purge took it first).</summary>
    public string Outcome { get; init; } = "";
}

/// <summary>The answer of a bulk replay or purge.</summary>
public sealed class DeadLetterBulkResult
{
    /// <summary>How many were replayed (or purged) by this call.</summary>
    public int Done { get; init; }

    /// <summary>Every dead letter the call looked at, newest first.</summary>
    public IReadOnlyList<DeadLetterBulkItem> Items { get => field ?? []; init; }

    /// <summary>True when more dead letters match: call again.</summary>
    public bool More { get; init; }
}

/// <summary>
/// Dead letters (<c>/api/v1/dead-letters</c>): the key's own (scope <c>read</c> to list, <c>send</c> to replay or
/// purge) or every key's (<c>admin</c>).
/// </summary>
public class DeadLettersClient
{
    private const string Path = "api/v1/dead-letters";
    private readonly GatewayConnection _connection = null!;

    internal DeadLettersClient(GatewayConnection connection) => _connection = connection;

    /// <summary>For mocking in tests of your own code: every public member is virtual.</summary>
    protected DeadLettersClient()
    {
    }

    /// <summary><c>GET /api/v1/dead-letters</c>: one page, newest first.</summary>
    /// <exception cref="MailGatewayException">400 for a bad filter, 401, 403.</exception>
    public virtual Task<DeadLetterPage> ListAsync(DeadLetterQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new DeadLetterQuery();
        var path = Path + GatewayConnection.Query(
            ("reason", query.Reason),
            ("since", query.Since?.ToString("O", CultureInfo.InvariantCulture)),
            ("until", query.Until?.ToString("O", CultureInfo.InvariantCulture)),
            ("cursor", query.Cursor),
            ("limit", query.Limit?.ToString(CultureInfo.InvariantCulture)));
        return _connection.SendAsync(HttpMethod.Get, path, null, ClientJsonContext.Default.DeadLetterPage, null, cancellationToken);
    }

    /// <summary>Every dead letter matching <paramref name="query"/>, page after page as you enumerate.</summary>
    public virtual async IAsyncEnumerable<DeadLetter> ListAllAsync(DeadLetterQuery? query = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        query ??= new DeadLetterQuery();
        var cursor = query.Cursor;
        do
        {
            var page = await ListAsync(new DeadLetterQuery { Reason = query.Reason, Since = query.Since, Until = query.Until, Limit = query.Limit, Cursor = cursor }, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary><c>GET /api/v1/dead-letters/{id}</c>: one dead letter with its message's status.</summary>
    /// <exception cref="MailGatewayException">404 for an unknown id, another key's, or one replayed or purged.</exception>
    public virtual Task<DeadLetter> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return _connection.SendAsync(HttpMethod.Get, $"{Path}/{Uri.EscapeDataString(id)}", null, ClientJsonContext.Default.DeadLetter, null, cancellationToken);
    }

    /// <summary>
    /// <c>POST /api/v1/dead-letters/{id}/replay</c>: the job goes back on the queue as the next attempt of the same
    /// message (same id and <c>Message-ID</c>); the answer's status is <see cref="MessageStatus.Deferred"/>.
    /// </summary>
    /// <exception cref="MailGatewayException">404 (also when it was replayed already), 409 <c>not_replayable</c>.</exception>
    public virtual Task<AcceptedMessage> ReplayAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return _connection.SendAsync(HttpMethod.Post, $"{Path}/{Uri.EscapeDataString(id)}/replay", null, ClientJsonContext.Default.AcceptedMessage, null, cancellationToken);
    }

    /// <summary>
    /// <c>POST /api/v1/dead-letters/replay</c>: replays up to <see cref="DeadLetterFilter.Limit"/> dead letters matching
    /// the filter, each atomically as <see cref="ReplayAsync"/>; call again while <see cref="DeadLetterBulkResult.More"/>.
    /// </summary>
    /// <exception cref="MailGatewayException">400 for a bad filter, 401, 403.</exception>
    public virtual Task<DeadLetterBulkResult> ReplayMatchingAsync(DeadLetterFilter? filter = null, CancellationToken cancellationToken = default) =>
        BulkAsync("replay", filter, cancellationToken);

    /// <summary><c>POST /api/v1/dead-letters/purge</c>: purges up to <see cref="DeadLetterFilter.Limit"/> matching dead letters with their content.</summary>
    /// <exception cref="MailGatewayException">400 for a bad filter, 401, 403.</exception>
    public virtual Task<DeadLetterBulkResult> PurgeMatchingAsync(DeadLetterFilter? filter = null, CancellationToken cancellationToken = default) =>
        BulkAsync("purge", filter, cancellationToken);

    private Task<DeadLetterBulkResult> BulkAsync(string action, DeadLetterFilter? filter, CancellationToken cancellationToken)
    {
        filter ??= new DeadLetterFilter();
        var path = $"{Path}/{action}" + GatewayConnection.Query(
            ("reason", filter.Reason),
            ("since", filter.Since?.ToString("O", CultureInfo.InvariantCulture)),
            ("until", filter.Until?.ToString("O", CultureInfo.InvariantCulture)),
            ("limit", filter.Limit?.ToString(CultureInfo.InvariantCulture)));
        return _connection.SendAsync(HttpMethod.Post, path, null, ClientJsonContext.Default.DeadLetterBulkResult, null, cancellationToken);
    }

    /// <summary><c>DELETE /api/v1/dead-letters/{id}</c>: removes the dead letter and its message's stored content (the status stays).</summary>
    /// <exception cref="MailGatewayException">404.</exception>
    public virtual Task PurgeAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return _connection.SendAsync(HttpMethod.Delete, $"{Path}/{Uri.EscapeDataString(id)}", cancellationToken);
    }
}
