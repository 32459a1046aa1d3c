using MailGateway.Embedded;
using MailGateway.ServiceDefaults.Telemetry;

namespace MailGateway.Standalone;

/// <summary>
/// The SQLite queue's depth in one read: <c>count(*)</c> over the jobs (SQLite counts the smallest index,
/// <c>jobs_visible</c>) and the oldest due job by <c>min(visible_at)</c>, a seek on that index. Leased jobs have their
/// <c>visible_at</c> moved to the lease's end, so they do not count as waiting.
/// </summary>
internal sealed class SqliteQueueDepthProbe(SqliteDatabase database, TimeProvider time) : IQueueDepthProbe
{
    public async Task<QueueDepth> ReadAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), (SELECT min(visible_at) FROM jobs WHERE visible_at <= $now) FROM jobs";
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var jobs = reader.GetInt64(0);
        var oldest = reader.IsDBNull(1) ? TimeSpan.Zero : now - DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1));
        return new QueueDepth(jobs, oldest < TimeSpan.Zero ? TimeSpan.Zero : oldest);
    }
}
