using MailGateway.Core.Queue;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using static MailGateway.Embedded.SqliteMessageStatusStore;

namespace MailGateway.Embedded;

/// <summary>
/// The durable delivery queue in SQLite: one row per job with a visibility time (not-before for backoff and
/// <c>sendAt</c>, lease expiry while a worker holds it), a delivery count and a lease token; settled jobs are deleted
/// or moved to <c>dead_letters</c>. A lease that is never settled (crash) ends at its visibility timeout. The body is
/// the one job format (<see cref="DeliveryJobSerializer"/>); the trace context is in the columns <c>trace_parent</c>
/// and <c>trace_state</c>, written by the same INSERT.
/// </summary>
public sealed partial class SqliteDeliveryQueue : IDeliveryQueue
{
    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;
    private readonly ILogger<SqliteDeliveryQueue> _logger;
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the queue.</summary>
    public SqliteDeliveryQueue(SqliteDatabase database, TimeProvider time, ILogger<SqliteDeliveryQueue> logger)
    {
        _database = database;
        _time = time;
        _logger = logger;
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

    /// <summary>
    /// Leases up to <paramref name="maxJobs"/> visible jobs for <paramref name="leaseDuration"/>, oldest due first. A
    /// row that is not a readable job is dead-lettered (<see cref="DeadLetterReasons.MalformedJob"/>) at this first
    /// read and left out; the rest of the batch is handed out.
    /// </summary>
    public async Task<IReadOnlyList<LeasedJob>> LeaseAsync(int maxJobs, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var token = Guid.NewGuid().ToString("N");
        var rows = await _database.WriteAsync((connection, transaction) =>
        {
            using var command = Command(connection, transaction, """
                UPDATE jobs SET lease_token = $token, visible_at = $until, delivery_count = delivery_count + 1
                WHERE seq IN (SELECT seq FROM jobs WHERE visible_at <= $now ORDER BY visible_at, seq LIMIT $max)
                RETURNING seq, body, delivery_count, trace_parent, trace_state
                """,
                ("$token", token), ("$until", UnixTime.Ms(now + leaseDuration)), ("$now", UnixTime.Ms(now)), ("$max", maxJobs));
            using var reader = command.ExecuteReader();
            var list = new List<LeasedRow>();
            while (reader.Read())
            {
                list.Add(new LeasedRow(reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
            }

            return list;
        }, cancellationToken);

        // Read outside the single writer: the bodies are parsed by the caller's thread, not the group commit's.
        var leased = new List<LeasedJob>(rows.Count);
        List<(LeasedRow Row, string Problem)>? unreadable = null;
        foreach (var row in rows.OrderBy(r => r.Seq))
        {
            try
            {
                var job = DeliveryJobSerializer.Deserialize(row.Body) with { TraceParent = row.TraceParent, TraceState = row.TraceState };
                leased.Add(new LeasedJob(this, row.Seq, token, job, row.DeliveryCount));
            }
            catch (MalformedDeliveryJobException ex)
            {
                (unreadable ??= []).Add((row, ex.Message));
            }
        }

        if (unreadable is not null)
        {
            await DeadLetterUnreadableAsync(token, unreadable, cancellationToken);
        }

        return leased;
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
    /// Gives leased jobs back unhandled: visible now, and their lease not counted as a delivery. Only jobs whose lease
    /// still holds them are released.
    /// </summary>
    public async Task ReleaseAsync(IReadOnlyList<LeasedJob> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var now = UnixTime.Ms(_time.GetUtcNow());
        await _database.WriteAsync((connection, transaction) =>
        {
            foreach (var job in jobs)
            {
                using var command = Command(connection, transaction, """
                    UPDATE jobs SET lease_token = NULL, visible_at = $now, delivery_count = max(delivery_count - 1, 0)
                    WHERE seq = $seq AND lease_token = $token
                    """,
                    ("$now", now), ("$seq", job.Sequence), ("$token", job.Token));
                command.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);
        Signal();
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
        using var command = Command(connection, null, "SELECT message_id, body, reason, description, delivery_count, dead_lettered_at FROM dead_letters ORDER BY seq");
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<DeadLetter>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new DeadLetter(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), UnixTime.From(reader.GetInt64(5))));
        }

        return list;
    }

    /// <summary>Extends a lease still held to <paramref name="duration"/> from now; false when the lease was lost.</summary>
    internal Task<bool> RenewAsync(LeasedJob lease, TimeSpan duration, CancellationToken cancellationToken)
    {
        var until = UnixTime.Ms(_time.GetUtcNow() + duration);
        return _database.WriteAsync((connection, transaction) =>
        {
            using var command = Command(connection, transaction, "UPDATE jobs SET visible_at = $until WHERE seq = $seq AND lease_token = $token",
                ("$until", until), ("$seq", lease.Sequence), ("$token", lease.Token));
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    /// <summary>When the job of <paramref name="messageId"/> becomes visible (lease end or not-before), or null.</summary>
    internal async Task<DateTimeOffset?> VisibleAtAsync(string messageId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "SELECT max(visible_at) FROM jobs WHERE message_id = $id", ("$id", messageId));
        return await command.ExecuteScalarAsync(cancellationToken) is long ms ? UnixTime.From(ms) : null;
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
                ("$id", lease.Job.MessageId), ("$attempt", lease.Job.Attempt), ("$body", DeliveryJobSerializer.Serialize(lease.Job)),
                ("$reason", reason), ("$description", description), ("$count", lease.DeliveryCount), ("$now", now));
            insert.ExecuteNonQuery();
            return true;
        }, cancellationToken);
    }

    internal static bool Insert(SqliteConnection connection, SqliteTransaction transaction, DeliveryJob job, DateTimeOffset visibleAt, DateTimeOffset now)
    {
        // The (message_id, attempt) key makes a repeated enqueue of the same attempt a no-op. The trace context goes
        // in the same statement: no extra write per job. Kept prepared on the writer's connection (SqliteStatements).
        var command = SqliteStatements.Command(connection, transaction, """
            INSERT OR IGNORE INTO jobs (message_id, attempt, body, visible_at, enqueued_at, trace_parent, trace_state)
            VALUES ($id, $attempt, $body, $visible, $now, $traceparent, $tracestate)
            """,
            ("$id", job.MessageId), ("$attempt", job.Attempt), ("$body", DeliveryJobSerializer.Serialize(job)),
            ("$visible", UnixTime.Ms(visibleAt)), ("$now", UnixTime.Ms(now)),
            ("$traceparent", (object?)job.TraceParent ?? DBNull.Value), ("$tracestate", (object?)job.TraceState ?? DBNull.Value));
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Moves rows of a lease that are not readable jobs to the dead letters (their body kept as it is).</summary>
    private async Task DeadLetterUnreadableAsync(string token, List<(LeasedRow Row, string Problem)> rows, CancellationToken cancellationToken)
    {
        var now = UnixTime.Ms(_time.GetUtcNow());
        try
        {
            await _database.WriteAsync((connection, transaction) =>
            {
                foreach (var (row, problem) in rows)
                {
                    using var move = Command(connection, transaction, """
                        INSERT INTO dead_letters (message_id, attempt, body, reason, description, delivery_count, dead_lettered_at)
                        SELECT message_id, attempt, body, $reason, $description, delivery_count, $now FROM jobs WHERE seq = $seq AND lease_token = $token
                        """,
                        ("$reason", DeadLetterReasons.MalformedJob), ("$description", problem), ("$now", now), ("$seq", row.Seq), ("$token", token));
                    move.ExecuteNonQuery();
                    using var delete = Command(connection, transaction, "DELETE FROM jobs WHERE seq = $seq AND lease_token = $token", ("$seq", row.Seq), ("$token", token));
                    delete.ExecuteNonQuery();
                }

                return true;
            }, cancellationToken);
            foreach (var (row, problem) in rows)
            {
                LogUnreadable(row.Seq, problem);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The rows stay leased and are read (and dead-lettered) again when the lease ends; the readable jobs go on.
            LogUnreadableNotMoved(ex, rows.Count);
        }
    }

    /// <summary>Deletes the job of <paramref name="lease"/> when the lease still holds it; true when it did.</summary>
    internal static bool DeleteIfHeld(SqliteConnection connection, SqliteTransaction transaction, LeasedJob lease)
    {
        using var command = Command(connection, transaction, "DELETE FROM jobs WHERE seq = $seq AND lease_token = $token",
            ("$seq", lease.Sequence), ("$token", lease.Token));
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

    internal void Signal() => Interlocked.Exchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    [LoggerMessage(Level = LogLevel.Error, Message = "Job row {Sequence} is not a readable job ({Problem}); dead-lettered")]
    private partial void LogUnreadable(long sequence, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} unreadable job row(s) could not be dead-lettered; they are tried again when their lease ends")]
    private partial void LogUnreadableNotMoved(Exception exception, int count);

    private sealed record LeasedRow(long Seq, string Body, int DeliveryCount, string? TraceParent, string? TraceState);
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

/// <summary>A dead-lettered job, with its body as it was stored (an unreadable one is kept as it is).</summary>
public sealed record DeadLetter(string MessageId, string Body, string Reason, string Description, int DeliveryCount, DateTimeOffset DeadLetteredAt)
{
    /// <summary>The job, or null when the body is not a readable job.</summary>
    public DeliveryJob? Job
    {
        get
        {
            try
            {
                return DeliveryJobSerializer.Deserialize(Body);
            }
            catch (MalformedDeliveryJobException)
            {
                return null;
            }
        }
    }
}

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
