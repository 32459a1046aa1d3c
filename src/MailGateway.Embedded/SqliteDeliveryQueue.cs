using System.Text.Json;
using MailGateway.Core.Queue;
using Microsoft.Data.Sqlite;
using static MailGateway.Embedded.SqliteMessageStatusStore;

namespace MailGateway.Embedded;

/// <summary>
/// The durable delivery queue in SQLite: one row per job with a visibility time (not-before for backoff and
/// <c>sendAt</c>, lease expiry while a worker holds it), a delivery count and a lease token; settled jobs are deleted
/// or moved to <c>dead_letters</c>. A lease that is never settled (crash) ends at its visibility timeout.
/// </summary>
public sealed class SqliteDeliveryQueue : IDeliveryQueue
{
    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the queue.</summary>
    public SqliteDeliveryQueue(SqliteDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <inheritdoc />
    public async Task EnqueueAsync(DeliveryJob job, DateTimeOffset? notBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var now = _time.GetUtcNow();
        await _database.WriteAsync((connection, transaction) => Insert(connection, transaction, job, notBefore ?? now, now), cancellationToken);
        Signal();
    }

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => _database.IsReadyAsync(cancellationToken);

    /// <summary>Leases up to <paramref name="maxJobs"/> visible jobs for <paramref name="leaseDuration"/>, oldest due first.</summary>
    public async Task<IReadOnlyList<LeasedJob>> LeaseAsync(int maxJobs, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var token = Guid.NewGuid().ToString("N");
        var rows = await _database.WriteAsync((connection, transaction) =>
        {
            using var command = Command(connection, transaction, """
                UPDATE jobs SET lease_token = $token, visible_at = $until, delivery_count = delivery_count + 1
                WHERE seq IN (SELECT seq FROM jobs WHERE visible_at <= $now ORDER BY visible_at, seq LIMIT $max)
                RETURNING seq, body, delivery_count
                """,
                ("$token", token), ("$until", UnixTime.Ms(now + leaseDuration)), ("$now", UnixTime.Ms(now)), ("$max", maxJobs));
            using var reader = command.ExecuteReader();
            var list = new List<(long Seq, string Body, int Count)>();
            while (reader.Read())
            {
                list.Add((reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2)));
            }

            return list;
        }, cancellationToken);

        return [.. rows.OrderBy(r => r.Seq).Select(r => new LeasedJob(this, r.Seq, token, Deserialize(r.Body), r.Count))];
    }

    /// <summary>
    /// Makes every leased job visible now. Only for the start of the single process that owns the database: its
    /// leases belong to a previous run that died.
    /// </summary>
    public async Task<int> ReleaseAllLeasesAsync(CancellationToken cancellationToken)
    {
        var now = UnixTime.Ms(_time.GetUtcNow());
        var released = await _database.WriteAsync((connection, transaction) =>
        {
            using var command = Command(connection, transaction,
                "UPDATE jobs SET lease_token = NULL, visible_at = min(visible_at, $now) WHERE lease_token IS NOT NULL", ("$now", now));
            return command.ExecuteNonQuery();
        }, cancellationToken);
        Signal();
        return released;
    }

    /// <summary>
    /// Waits until a job may be visible: an enqueue in this process, the earliest visibility time, or
    /// <paramref name="maxWait"/>, whichever comes first.
    /// </summary>
    public async Task WaitForWorkAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var signal = Volatile.Read(ref _signal).Task;
        await using var connection = await _database.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "SELECT min(visible_at) FROM jobs");
        var next = await command.ExecuteScalarAsync(cancellationToken);
        var wait = maxWait;
        if (next is long ms)
        {
            var untilDue = UnixTime.From(ms) - _time.GetUtcNow();
            if (untilDue <= TimeSpan.Zero)
            {
                return;
            }

            wait = untilDue < maxWait ? untilDue : maxWait;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await Task.WhenAny(signal, Task.Delay(wait, _time, cts.Token));
        await cts.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Counts of jobs waiting (including leased) and dead-lettered.</summary>
    public async Task<(int Jobs, int DeadLetters)> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM dead_letters)");
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt32(0), reader.GetInt32(1));
    }

    /// <summary>The dead-lettered jobs, oldest first.</summary>
    public async Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "SELECT body, reason, description, delivery_count, dead_lettered_at FROM dead_letters ORDER BY seq");
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<DeadLetter>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new DeadLetter(Deserialize(reader.GetString(0)), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), UnixTime.From(reader.GetInt64(4))));
        }

        return list;
    }

    internal async Task CompleteAsync(LeasedJob lease, CancellationToken cancellationToken)
    {
        await _database.WriteAsync((connection, transaction) =>
        {
            Delete(connection, transaction, lease);
            return true;
        }, cancellationToken);
    }

    internal async Task RescheduleAsync(LeasedJob lease, DeliveryJob next, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        await _database.WriteAsync((connection, transaction) =>
        {
            Delete(connection, transaction, lease);
            return Insert(connection, transaction, next, notBefore, now);
        }, cancellationToken);
        Signal();
    }

    internal async Task DeadLetterAsync(LeasedJob lease, string reason, string description, CancellationToken cancellationToken)
    {
        var now = UnixTime.Ms(_time.GetUtcNow());
        await _database.WriteAsync((connection, transaction) =>
        {
            Delete(connection, transaction, lease);
            using var insert = Command(connection, transaction, """
                INSERT INTO dead_letters (message_id, attempt, body, reason, description, delivery_count, dead_lettered_at)
                VALUES ($id, $attempt, $body, $reason, $description, $count, $now)
                """,
                ("$id", lease.Job.MessageId), ("$attempt", lease.Job.Attempt), ("$body", JsonSerializer.Serialize(lease.Job, Json.Options)),
                ("$reason", reason), ("$description", description), ("$count", lease.DeliveryCount), ("$now", now));
            insert.ExecuteNonQuery();
            return true;
        }, cancellationToken);
    }

    private static bool Insert(SqliteConnection connection, SqliteTransaction transaction, DeliveryJob job, DateTimeOffset visibleAt, DateTimeOffset now)
    {
        // The (message_id, attempt) key makes a repeated enqueue of the same attempt a no-op.
        using var command = Command(connection, transaction, """
            INSERT OR IGNORE INTO jobs (message_id, attempt, body, visible_at, enqueued_at)
            VALUES ($id, $attempt, $body, $visible, $now)
            """,
            ("$id", job.MessageId), ("$attempt", job.Attempt), ("$body", JsonSerializer.Serialize(job, Json.Options)),
            ("$visible", UnixTime.Ms(visibleAt)), ("$now", UnixTime.Ms(now)));
        return command.ExecuteNonQuery() == 1;
    }

    private static void Delete(SqliteConnection connection, SqliteTransaction transaction, LeasedJob lease)
    {
        using var command = Command(connection, transaction, "DELETE FROM jobs WHERE seq = $seq AND lease_token = $token",
            ("$seq", lease.Sequence), ("$token", lease.Token));
        if (command.ExecuteNonQuery() != 1)
        {
            throw new LeaseLostException($"The lease on the job of message {lease.Job.MessageId} has expired or was released.");
        }
    }

    private static DeliveryJob Deserialize(string body) =>
        JsonSerializer.Deserialize<DeliveryJob>(body, Json.Options) ?? throw new InvalidDataException("Empty job.");

    private void Signal() => Interlocked.Exchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}

/// <summary>A job leased from the SQLite queue; settle it exactly once.</summary>
public sealed class LeasedJob : IDeliveryJobContext
{
    private readonly SqliteDeliveryQueue _queue;

    internal LeasedJob(SqliteDeliveryQueue queue, long sequence, string token, DeliveryJob job, int deliveryCount)
    {
        _queue = queue;
        Sequence = sequence;
        Token = token;
        Job = job;
        DeliveryCount = deliveryCount;
    }

    /// <inheritdoc />
    public DeliveryJob Job { get; }

    /// <inheritdoc />
    public int DeliveryCount { get; }

    internal long Sequence { get; }

    internal string Token { get; }

    /// <inheritdoc />
    public Task CompleteAsync(CancellationToken cancellationToken) => _queue.CompleteAsync(this, cancellationToken);

    /// <inheritdoc />
    public Task RescheduleAsync(DeliveryJob next, DateTimeOffset notBefore, CancellationToken cancellationToken) =>
        _queue.RescheduleAsync(this, next, notBefore, cancellationToken);

    /// <inheritdoc />
    public Task DeadLetterAsync(string reason, string description, CancellationToken cancellationToken) =>
        _queue.DeadLetterAsync(this, reason, description, cancellationToken);
}

/// <summary>A dead-lettered job.</summary>
public sealed record DeadLetter(DeliveryJob Job, string Reason, string Description, int DeliveryCount, DateTimeOffset DeadLetteredAt);

/// <summary>The lease on a job ended before it was settled; another worker may hold the job now.</summary>
public sealed class LeaseLostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LeaseLostException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public LeaseLostException() { }

    /// <summary>Creates the exception.</summary>
    public LeaseLostException(string message, Exception innerException) : base(message, innerException) { }
}
