using MailGateway.Core.Queue;

namespace MailGateway.Embedded.Tests;

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
        Assert.Equal(("m1", DeadLetterReasons.Failed, "550 5.1.1 no such user", 1), (dead.Job.MessageId, dead.Reason, dead.Description, dead.DeliveryCount));
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
        var queue = new SqliteDeliveryQueue(reopened, _f.Time);
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
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!waiting.IsCompleted && DateTime.UtcNow < deadline)
        {
            _f.Time.Advance(TimeSpan.FromMinutes(10));
            await Task.WhenAny(waiting, Task.Delay(20));
        }

        Assert.True(waiting.IsCompletedSuccessfully);
        Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
    }
}
