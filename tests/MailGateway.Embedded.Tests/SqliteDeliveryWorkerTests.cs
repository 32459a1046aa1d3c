using MailGateway.Core.Delivery;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Embedded.Tests;

public sealed class SqliteDeliveryWorkerTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly EmbeddedFixture _f = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private int _maxInFlight;
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _reachTarget = int.MaxValue;

    public SqliteDeliveryWorkerTests()
    {
        _f.Engine.Default = async (r, ct) =>
        {
            var now = Interlocked.Increment(ref _inFlight);
            InterlockedMax(ref _maxInFlight, now);
            if (now >= Volatile.Read(ref _reachTarget))
            {
                _reached.TrySetResult();
            }

            await _release.Task.WaitAsync(ct);
            Interlocked.Decrement(ref _inFlight);
            return ScriptedEngine.Delivered(r);
        };
    }

    public void Dispose() => _f.Dispose();

    private SqliteDeliveryWorker Worker(int concurrency, TimeSpan? lease = null) => new(
        _f.Queue, _f.Handler,
        Microsoft.Extensions.Options.Options.Create(new DeliveryWorkerOptions { Concurrency = concurrency }),
        Microsoft.Extensions.Options.Options.Create(new SqliteDeliveryWorkerOptions { LeaseDuration = lease ?? TimeSpan.FromMinutes(5) }),
        _f.Time, NullLogger<SqliteDeliveryWorker>.Instance);

    [Fact]
    public async Task Runs_exactly_the_configured_number_of_deliveries_at_once()
    {
        for (var i = 0; i < 10; i++)
        {
            await _f.AcceptAsync("m" + i);
        }

        _reachTarget = 3;
        using var worker = Worker(3);
        await worker.StartAsync(CancellationToken.None);
        await _reached.Task.WaitAsync(Deadline);

        var (jobs, _) = await _f.Queue.CountAsync(CancellationToken.None);
        _release.SetResult();
        await WaitForAsync(async () => (await _f.Queue.CountAsync(CancellationToken.None)).Jobs == 0);
        await worker.StopAsync(CancellationToken.None);

        Assert.Equal(10, jobs);
        Assert.Equal(3, _maxInFlight);
        Assert.Equal(10, _f.Engine.Requests.Count);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("m" + i, CancellationToken.None))!.State);
        }
    }

    [Fact]
    public async Task Shutdown_lets_in_flight_deliveries_finish_and_leases_nothing_new()
    {
        await _f.AcceptAsync("inflight");
        _reachTarget = 1;
        using var worker = Worker(4);
        await worker.StartAsync(CancellationToken.None);
        await _reached.Task.WaitAsync(Deadline);

        var stopping = worker.StopAsync(CancellationToken.None);
        await _f.AcceptAsync("after-stop");
        _release.SetResult();
        await stopping.WaitAsync(Deadline);

        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("inflight", CancellationToken.None))!.State);
        Assert.Equal(MessageState.Queued, (await _f.Status.GetAsync("after-stop", CancellationToken.None))!.State);
        Assert.Equal(1, (await _f.Queue.CountAsync(CancellationToken.None)).Jobs);
        Assert.Single(_f.Engine.Requests);
    }

    [Fact]
    public async Task The_lease_is_renewed_while_a_slow_delivery_runs_so_the_job_is_not_handed_out_twice()
    {
        await _f.AcceptAsync("slow");
        _reachTarget = 1;
        using var worker = Worker(1, lease: TimeSpan.FromMinutes(1));
        await worker.StartAsync(CancellationToken.None);
        await _reached.Task.WaitAsync(Deadline);

        for (var i = 0; i < 6; i++)
        {
            _f.Time.Advance(TimeSpan.FromSeconds(20));
            var renewedTo = _f.Time.GetUtcNow() + TimeSpan.FromMinutes(1);
            await Poll.UntilAsync(async () => await _f.Queue.VisibleAtAsync("slow", CancellationToken.None) >= renewedTo, () => "the lease was not renewed");
        }

        var stolen = await _f.Queue.LeaseAsync(1, TimeSpan.FromMinutes(1), CancellationToken.None);
        _release.SetResult();
        await WaitForAsync(async () => (await _f.Queue.CountAsync(CancellationToken.None)).Jobs == 0);
        await worker.StopAsync(CancellationToken.None);

        Assert.Empty(stolen);
        Assert.Single(_f.Engine.Requests);
        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("slow", CancellationToken.None))!.State);
    }

    [Fact]
    public async Task A_job_handed_out_too_often_without_settlement_is_dead_lettered()
    {
        await _f.AcceptAsync("poison");
        for (var i = 0; i < _f.Worker.MaxDeliveryCount; i++)
        {
            Assert.Single(await _f.Queue.LeaseAsync(1, TimeSpan.FromSeconds(1), CancellationToken.None));
            _f.Time.Advance(TimeSpan.FromSeconds(1));
        }

        using var worker = Worker(1);
        await worker.StartAsync(CancellationToken.None);
        await WaitForAsync(async () => (await _f.Queue.CountAsync(CancellationToken.None)).DeadLetters == 1);
        await worker.StopAsync(CancellationToken.None);

        Assert.Empty(_f.Engine.Requests);
        Assert.Equal(DeadLetterReasons.TooManyDeliveries, Assert.Single(await _f.Queue.GetDeadLettersAsync(CancellationToken.None)).Reason);
        Assert.Equal(MessageState.Failed, (await _f.Status.GetAsync("poison", CancellationToken.None))!.State);
    }

    [Fact]
    public async Task An_unreadable_row_in_the_middle_of_a_lease_batch_is_dead_lettered_and_the_jobs_around_it_are_delivered()
    {
        _release.SetResult();
        await _f.AcceptAsync("before");
        await _f.ExecuteAsync("INSERT INTO jobs (message_id, attempt, body, visible_at, enqueued_at) VALUES ('unreadable', 1, '{\"v\":1,\"id\":', 0, 0)");
        await _f.AcceptAsync("behind");
        using var worker = Worker(8);
        await worker.StartAsync(CancellationToken.None);

        await WaitForAsync(async () => (await _f.Queue.CountAsync(CancellationToken.None)) == (0, 1));
        await worker.StopAsync(CancellationToken.None);

        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("before", CancellationToken.None))!.State);
        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("behind", CancellationToken.None))!.State);
        var dead = Assert.Single(await _f.Queue.GetDeadLettersAsync(CancellationToken.None));
        Assert.Equal(("unreadable", DeadLetterReasons.MalformedJob, 1), (dead.MessageId, dead.Reason, dead.DeliveryCount));
        Assert.Equal(2, _f.Engine.Requests.Count);
    }

    [Fact]
    public async Task Jobs_leased_ahead_are_given_back_at_shutdown_visible_at_once_and_not_counted_as_a_delivery()
    {
        for (var i = 0; i < 5; i++)
        {
            await _f.AcceptAsync("m" + i);
        }

        _reachTarget = 1;
        using var worker = Worker(1);
        await worker.StartAsync(CancellationToken.None);
        await _reached.Task.WaitAsync(Deadline);
        // One delivery in flight and the next batch (the concurrency, 1) leased ahead of it: two leases, one write.
        var leased = await _f.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None);
        await _f.Queue.ReleaseAsync(leased, CancellationToken.None);

        var stopping = worker.StopAsync(CancellationToken.None);
        _release.SetResult();
        await stopping.WaitAsync(Deadline);

        Assert.Equal(3, leased.Count);
        Assert.Single(_f.Engine.Requests);
        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("m0", CancellationToken.None))!.State);
        var again = await _f.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(["m1", "m2", "m3", "m4"], again.Select(j => j.Job.MessageId));
        Assert.All(again, j => Assert.Equal(1, j.DeliveryCount));
    }

    [Fact]
    public async Task A_job_leased_ahead_that_waited_a_third_of_its_lease_is_leased_again_before_it_is_started()
    {
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _f.Engine.Default = async (r, ct) =>
        {
            if (r.MessageId == "m0")
            {
                firstStarted.TrySetResult();
                await first.Task.WaitAsync(ct);
            }
            else
            {
                secondStarted.TrySetResult();
                await second.Task.WaitAsync(ct);
            }

            return ScriptedEngine.Delivered(r);
        };
        await _f.AcceptAsync("m0");
        await _f.AcceptAsync("m1");
        using var worker = Worker(1, lease: TimeSpan.FromMinutes(1));
        await worker.StartAsync(CancellationToken.None);
        await firstStarted.Task.WaitAsync(Deadline);
        var aheadUntil = await _f.Queue.VisibleAtAsync("m1", CancellationToken.None);

        _f.Time.Advance(TimeSpan.FromSeconds(20));
        var later = _f.Time.GetUtcNow();
        first.SetResult();
        await secondStarted.Task.WaitAsync(Deadline);
        var startedUntil = await _f.Queue.VisibleAtAsync("m1", CancellationToken.None);
        second.SetResult();
        await WaitForAsync(async () => (await _f.Queue.CountAsync(CancellationToken.None)).Jobs == 0);
        await worker.StopAsync(CancellationToken.None);

        // Leased ahead at the start (lease to start + 1 min); started on a new lease taken 20 s later.
        Assert.Equal(_f.Time.Start + TimeSpan.FromMinutes(1), aheadUntil);
        Assert.Equal(later + TimeSpan.FromMinutes(1), startedUntil);
        Assert.Equal(["m0", "m1"], _f.Engine.Requests.Select(r => r.MessageId));
        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("m1", CancellationToken.None))!.State);
    }

    private static Task WaitForAsync(Func<Task<bool>> condition) =>
        Poll.UntilAsync(condition, () => "condition not reached before the deadline", Deadline);

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
