using System.Globalization;
using MailGateway.Core.Status;

namespace MailGateway.Embedded;

/// <summary>
/// Read-only summaries of the SQLite database for the dashboard: the queue (table <c>jobs</c>) and the outcomes of the
/// recent past (table <c>events</c>, read newest first by its key and bounded by <see cref="MaxEvents"/>, so the cost
/// does not grow with the size of the log).
/// </summary>
public sealed class SqliteOperationsOverview(SqliteDatabase database, TimeProvider time) : IOperationsOverview
{
    /// <summary>The most events the charts read.</summary>
    public const int MaxEvents = 20_000;

    /// <summary>The upper bounds of the due-in buckets (the last one is "later").</summary>
    public static readonly IReadOnlyList<TimeSpan> DueBuckets = OperationsOverviewBuckets.Due;

    /// <inheritdoc />
    int IOperationsOverview.MaxEvents => MaxEvents;

    /// <inheritdoc />
    public string? Unavailable => null;

    /// <summary>The queue now.</summary>
    public async Task<QueueOverview> QueueAsync(CancellationToken cancellationToken)
    {
        var now = UnixTime.Ms(time.GetUtcNow());
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT count(*),
                   coalesce(sum(visible_at <= $now), 0),
                   coalesce(sum(lease_token IS NOT NULL AND visible_at > $now), 0),
                   coalesce(sum(lease_token IS NULL AND visible_at > $now), 0),
                   min(enqueued_at),
                   {string.Join(",\n", DueBuckets.Select((_, i) => DueSum(i)))}
            FROM jobs;
            SELECT count(*) FROM dead_letters;
            """;
        command.Parameters.AddWithValue("$now", now);
        for (var i = 0; i < DueBuckets.Count - 1; i++)
        {
            command.Parameters.AddWithValue("$due" + i.ToString(CultureInfo.InvariantCulture), now + (long)DueBuckets[i].TotalMilliseconds);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var due = new long[DueBuckets.Count];
        for (var i = 0; i < due.Length; i++)
        {
            due[i] = reader.GetInt64(5 + i);
        }

        var queue = new QueueOverview(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
            reader.IsDBNull(4) ? null : UnixTime.From(reader.GetInt64(4)), 0, due);
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return queue with { DeadLetters = reader.GetInt64(0) };
    }

    // The waiting, unleased jobs due before bucket i's bound and at or after the previous one's.
    private static string DueSum(int i)
    {
        var index = i.ToString(CultureInfo.InvariantCulture);
        var previous = (i - 1).ToString(CultureInfo.InvariantCulture);
        var lower = i == 0 ? "visible_at > $now" : $"visible_at >= $due{previous}";
        var upper = i == DueBuckets.Count - 1 ? "1" : $"visible_at < $due{index}";
        return $"coalesce(sum(lease_token IS NULL AND visible_at > $now AND {lower} AND {upper}), 0)";
    }

    /// <summary>
    /// Delivered, deferred and failed (and expired) messages per bucket over <paramref name="window"/> up to now, and
    /// the latency from accept to delivery; at most <see cref="MaxEvents"/> of the newest events are read.
    /// </summary>
    public async Task<OutcomeHistory> OutcomesAsync(TimeSpan window, int bucketCount, CancellationToken cancellationToken)
    {
        var history = new OutcomeHistoryBuilder(time.GetUtcNow(), window, bucketCount);
        var read = 0;
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // Newest first by the key: the scan stops at the window's start or after MaxEvents rows, whichever comes first.
        command.CommandText = """
            SELECT e.type, e.created_at, m.created_at
            FROM (SELECT type, created_at, message_id, body FROM events ORDER BY seq DESC LIMIT $max) AS e
            LEFT JOIN messages AS m ON m.id = e.message_id AND e.type = 'delivered'
            WHERE e.created_at >= $start AND e.type IN ('delivered', 'deferred', 'failed', 'expired')
              AND json_extract(e.body, '$.recipient') IS NULL
            """;
        command.Parameters.AddWithValue("$max", MaxEvents);
        command.Parameters.AddWithValue("$start", UnixTime.Ms(history.Start));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            read++;
            var at = UnixTime.From(reader.GetInt64(1));
            history.Add(reader.GetString(0), at, reader.IsDBNull(2) ? null : at - UnixTime.From(reader.GetInt64(2)));
        }

        return history.Build(read);
    }

    /// <summary>The number of status records per state (a scan of the state index).</summary>
    public async Task<IReadOnlyDictionary<string, long>> StatesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, count(*) FROM messages GROUP BY state";
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    /// <inheritdoc />
    async Task<QueueOverviewResult> IOperationsOverview.QueueAsync(CancellationToken cancellationToken) => QueueOverviewResult.Of(await QueueAsync(cancellationToken));

    /// <inheritdoc />
    async Task<OutcomeHistory?> IOperationsOverview.OutcomesAsync(TimeSpan window, int bucketCount, CancellationToken cancellationToken) =>
        await OutcomesAsync(window, bucketCount, cancellationToken);

    /// <inheritdoc />
    async Task<IReadOnlyDictionary<string, long>?> IOperationsOverview.StatesAsync(CancellationToken cancellationToken) => await StatesAsync(cancellationToken);
}
