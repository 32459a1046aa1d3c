using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Embedded.Tests;

/// <summary>The SQLite queue beyond the queue-port contract (<c>Contracts/</c>): leases, restarts, the stored format.</summary>
public sealed class SqliteDeliveryQueueTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Enqueued_job_is_leased_once_with_delivery_count_1()
    {
        await _f.AcceptAsync("m1");

        var first = await _f.Queue.LeaseAsync(10, Lease, CancellationToken.None);
        var second = await _f.Queue.LeaseAsync(10, Lease, CancellationToken.None);

        var job = Assert.Single(first);
        Assert.Equal("m1", job.Job.MessageId);
        Assert.Equal(1, job.DeliveryCount);
        Assert.Empty(second);
    }

    [Fact]
    public async Task Unsettled_job_is_visible_again_after_its_lease_with_delivery_count_2()
    {
        await _f.AcceptAsync("m1");
        var first = Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));

        _f.Time.Advance(Lease - TimeSpan.FromSeconds(1));
        Assert.Empty(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
        _f.Time.Advance(TimeSpan.FromSeconds(1));
        var again = Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));

        Assert.Equal(2, again.DeliveryCount);
        await Assert.ThrowsAsync<LeaseLostException>(() => first.CompleteAsync(CancellationToken.None));
        await again.CompleteAsync(CancellationToken.None);
        Assert.Equal((0, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Job_is_invisible_before_its_not_before_time()
    {
        await _f.AcceptAsync("m1", notBefore: _f.Time.GetUtcNow().AddMinutes(5));

        Assert.Empty(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
        _f.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
    }

    [Fact]
    public async Task Enqueuing_the_same_attempt_twice_creates_one_job()
    {
        var job = await _f.AcceptAsync("m1");
        await _f.Queue.EnqueueAsync(job, null, CancellationToken.None);
        await _f.Queue.EnqueueAsync(job with { Attempt = 2 }, null, CancellationToken.None);

        Assert.Equal((2, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Reschedule_replaces_the_job_with_the_next_attempt_at_its_time()
    {
        await _f.AcceptAsync("m1");
        var leased = Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));

        await leased.RescheduleAsync(leased.Job with { Attempt = 2 }, _f.Time.GetUtcNow().AddMinutes(3), CancellationToken.None);

        Assert.Equal((1, 0), await _f.Queue.CountAsync(CancellationToken.None));
        _f.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Empty(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
        _f.Time.Advance(TimeSpan.FromMinutes(1));
        var next = Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
        Assert.Equal(2, next.Job.Attempt);
        Assert.Equal(1, next.DeliveryCount);
    }

    [Fact]
    public async Task Dead_letter_moves_the_job_with_reason_and_description()
    {
        await _f.AcceptAsync("m1");
        var leased = Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));

        await leased.DeadLetterAsync(DeadLetterReasons.Failed, "550 5.1.1 no such user", CancellationToken.None);

        Assert.Equal((0, 1), await _f.Queue.CountAsync(CancellationToken.None));
        var dead = Assert.Single(await _f.Queue.GetDeadLettersAsync(CancellationToken.None));
        Assert.Equal(("m1", DeadLetterReasons.Failed, "550 5.1.1 no such user", 1), (dead.Job!.MessageId, dead.Reason, dead.Description, dead.DeliveryCount));
    }

    [Fact]
    public async Task Releasing_all_leases_at_start_makes_leased_jobs_visible_at_once()
    {
        await _f.AcceptAsync("m1");
        Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));

        Assert.Equal(1, await _f.Queue.ReleaseAllLeasesAsync(CancellationToken.None));

        Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
    }

    [Fact]
    public async Task Jobs_survive_closing_and_reopening_the_database()
    {
        await _f.AcceptAsync("m1");
        _f.Database.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        using var reopened = new SqliteDatabase(_f.Options);
        var queue = new SqliteDeliveryQueue(reopened, _f.Time, NullLogger<SqliteDeliveryQueue>.Instance);
        var job = Assert.Single(await queue.LeaseAsync(1, Lease, CancellationToken.None));
        Assert.Equal("m1", job.Job.MessageId);
    }

    [Fact]
    public async Task Wait_for_work_returns_when_a_job_is_enqueued()
    {
        var waiting = _f.Queue.WaitForWorkAsync(TimeSpan.FromHours(1), CancellationToken.None);
        await _f.AcceptAsync("m1");

        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
    }

    [Fact]
    public async Task Wait_for_work_returns_when_a_scheduled_job_becomes_due()
    {
        await _f.AcceptAsync("m1", notBefore: _f.Time.GetUtcNow().AddMinutes(10));
        var waiting = _f.Queue.WaitForWorkAsync(TimeSpan.FromHours(1), CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        // The waiter arms its timer on the fake clock before it can be advanced.
        await Poll.UntilAsync(() => waiting.IsCompleted, () => "the waiter did not return", eachPoll: () => _f.Time.Advance(TimeSpan.FromMinutes(10)));

        Assert.True(waiting.IsCompletedSuccessfully);
        Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
    }

    [Fact]
    public async Task Jobs_stored_in_the_earlier_reflection_format_are_read_and_delivered()
    {
        var job = await _f.AcceptAsync("m1");
        await _f.ExecuteAsync("UPDATE jobs SET body = $body",
            ("$body", $$"""{"version":1,"messageId":"m1","contentReference":"{{job.ContentReference}}","mailFrom":"a@example.com","recipients":["b@example.net"],"attempt":1,"firstSeen":"{{job.FirstSeen:O}}","expiresAt":null}"""));

        await _f.HandleNextAsync();

        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("m1", CancellationToken.None))!.State);
        Assert.Equal(["b@example.net"], Assert.Single(_f.Engine.Requests).Envelope.Recipients);
    }

    [Fact]
    public async Task The_trace_context_is_stored_in_the_columns_of_the_job_row()
    {
        var job = await _f.AcceptAsync("m1");
        await _f.Queue.EnqueueAsync(job with { Attempt = 2, TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", TraceState = "congo=t61rcWkgMzE" }, null, CancellationToken.None);

        await using var connection = await _f.Database.OpenAsync(CancellationToken.None);
        using var command = SqliteMessageStatusStore.Command(connection, null, "SELECT attempt, trace_parent, trace_state, body FROM jobs ORDER BY attempt");
        using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(long, string?, string?, string)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3)));
        }

        Assert.Equal((1L, (string?)null, (string?)null), (rows[0].Item1, rows[0].Item2, rows[0].Item3));
        Assert.Equal((2L, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "congo=t61rcWkgMzE"), (rows[1].Item1, rows[1].Item2!, rows[1].Item3!));
        Assert.DoesNotContain("0af7651916cd43dd8448eb211c80319c", rows[1].Item4, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_made_before_the_trace_columns_is_migrated_and_its_jobs_are_still_read()
    {
        using var old = new EmbeddedFixture();
        Directory.CreateDirectory(old.Directory);
        await using (var connection = new SqliteConnection($"Data Source={old.Options.Value.DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var create = connection.CreateCommand();
            create.CommandText = """
                CREATE TABLE jobs (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, attempt INTEGER NOT NULL, body TEXT NOT NULL,
                    visible_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL DEFAULT 0, lease_token TEXT, enqueued_at INTEGER NOT NULL,
                    UNIQUE (message_id, attempt));
                INSERT INTO jobs (message_id, attempt, body, visible_at, enqueued_at) VALUES ('m0', 1,
                    '{"version":1,"messageId":"m0","contentReference":"db:m0","mailFrom":"a@example.com","recipients":["b@example.net"],"attempt":1,"firstSeen":"2026-11-28T12:00:00+00:00","expiresAt":null}', 0, 0);
                """;
            await create.ExecuteNonQueryAsync();
        }

        var leased = Assert.Single(await old.Queue.LeaseAsync(5, Lease, CancellationToken.None));
        await old.Queue.EnqueueAsync(leased.Job with { Attempt = 2, TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }, null, CancellationToken.None);
        await leased.CompleteAsync(CancellationToken.None);
        var next = Assert.Single(await old.Queue.LeaseAsync(5, Lease, CancellationToken.None));

        Assert.Equal(("m0", "db:m0"), (leased.Job.MessageId, leased.Job.ContentReference));
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", next.Job.TraceParent);
    }
}
