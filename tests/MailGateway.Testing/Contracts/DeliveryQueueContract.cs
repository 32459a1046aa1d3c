using MailGateway.Core.Queue;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing.Contracts;

/// <summary>A dead-lettered job as the contract sees it: the job when its body is readable.</summary>
public sealed record DeadLetteredJob(string MessageId, DeliveryJob? Job, string Reason, string Description);

/// <summary>A queue as the contract suite drives it: the port, plus what each queue offers for leasing and inspection.</summary>
public interface IQueueUnderTest : IAsyncDisposable
{
    /// <summary>The sending port.</summary>
    IDeliveryQueue Queue { get; }

    /// <summary>The queue's clock.</summary>
    FakeTimeProvider Time { get; }

    /// <summary>Leases the next visible job, or null when none is visible now.</summary>
    Task<IDeliveryJobContext?> LeaseAsync(CancellationToken cancellationToken);

    /// <summary>Leases every job visible now, the way the queue's worker reads them (SQLite: one lease batch).</summary>
    Task<IReadOnlyList<IDeliveryJobContext>> LeaseAllAsync(CancellationToken cancellationToken);

    /// <summary>Puts a message on the queue whose body is <paramref name="body"/> as it is (not a job), for <paramref name="messageId"/>.</summary>
    Task EnqueueRawAsync(string messageId, string body, CancellationToken cancellationToken);

    /// <summary>The dead-lettered jobs with their reason and description.</summary>
    Task<IReadOnlyList<DeadLetteredJob>> DeadLettersAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The semantics of the queue port that the SQLite queue and the Service Bus adapter share: enqueue (now or later,
/// a repeated first attempt is one job), lease (one holder at a time), complete, reschedule (the next attempt at its
/// time, the current one gone), dead-letter (with reason and description). Where they differ (an expired lease:
/// SQLite throws on settle, Service Bus leaves the message unsettled) is tested per queue.
/// </summary>
public abstract class DeliveryQueueContract
{
    /// <summary>The start of every test's clock.</summary>
    protected static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A fresh, empty queue.</summary>
    protected abstract Task<IQueueUnderTest> CreateAsync();

    private static DeliveryJob Job(string id = "0192f0c0a1b2c3d4e5f60718293a4b5c", int attempt = 1) => new()
    {
        MessageId = id,
        ContentReference = "2026/11/28/0123456789abcdef0123456789abcdef.eml",
        MailFrom = "app@example.com",
        Recipients = ["b@example.net", "c@example.org"],
        Attempt = attempt,
        FirstSeen = Start,
        ExpiresAt = Start.AddDays(1),
    };

    private static void AssertSameJob(DeliveryJob expected, DeliveryJob actual)
    {
        Assert.Equal(expected.MessageId, actual.MessageId);
        Assert.Equal(expected.ContentReference, actual.ContentReference);
        Assert.Equal(expected.MailFrom, actual.MailFrom);
        Assert.Equal(expected.Recipients, actual.Recipients);
        Assert.Equal(expected.Attempt, actual.Attempt);
        Assert.Equal(expected.FirstSeen, actual.FirstSeen);
        Assert.Equal(expected.ExpiresAt, actual.ExpiresAt);
    }

    [Fact]
    public async Task An_enqueued_job_is_leased_whole_on_its_first_delivery()
    {
        await using var queue = await CreateAsync();
        await queue.Queue.EnqueueAsync(Job(), null, CancellationToken.None);

        var lease = await queue.LeaseAsync(CancellationToken.None);

        Assert.NotNull(lease);
        AssertSameJob(Job(), lease.Job);
        Assert.Equal(1, lease.DeliveryCount);
    }

    [Fact]
    public async Task A_job_for_later_is_not_leased_before_its_time()
    {
        await using var queue = await CreateAsync();
        await queue.Queue.EnqueueAsync(Job(), Start.AddMinutes(30), CancellationToken.None);

        Assert.Null(await queue.LeaseAsync(CancellationToken.None));
        queue.Time.Advance(TimeSpan.FromMinutes(29));
        Assert.Null(await queue.LeaseAsync(CancellationToken.None));
        queue.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.NotNull(await queue.LeaseAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Enqueuing_the_same_first_attempt_twice_makes_one_job()
    {
        await using var queue = await CreateAsync();
        await queue.Queue.EnqueueAsync(Job(), null, CancellationToken.None);
        await queue.Queue.EnqueueAsync(Job(), null, CancellationToken.None);

        Assert.NotNull(await queue.LeaseAsync(CancellationToken.None));
        Assert.Null(await queue.LeaseAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Different_messages_are_different_jobs_and_a_leased_one_is_not_handed_out_again()
    {
        await using var queue = await CreateAsync();
        await queue.Queue.EnqueueAsync(Job("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), null, CancellationToken.None);
        await queue.Queue.EnqueueAsync(Job("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), null, CancellationToken.None);

        var first = await queue.LeaseAsync(CancellationToken.None);
        var second = await queue.LeaseAsync(CancellationToken.None);

        Assert.Equal(
            ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"],
            new[] { first!.Job.MessageId, second!.Job.MessageId }.Order());
        Assert.Null(await queue.LeaseAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_completed_job_is_gone()
    {
        await using var queue = await CreateAsync();
        await queue.Queue.EnqueueAsync(Job(), null, CancellationToken.None);

        await (await queue.LeaseAsync(CancellationToken.None))!.CompleteAsync(CancellationToken.None);
        queue.Time.Advance(TimeSpan.FromDays(1));

        Assert.Null(await queue.LeaseAsync(CancellationToken.None));
        Assert.Empty(await queue.DeadLettersAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_rescheduled_job_comes_back_at_its_time_as_the_next_attempt_and_the_current_one_is_gone()
    {
        await using var queue = await CreateAsync();
        await queue.Queue.EnqueueAsync(Job(), null, CancellationToken.None);
        var lease = await queue.LeaseAsync(CancellationToken.None);

        await lease!.RescheduleAsync(lease.Job with { Attempt = 2 }, Start.AddMinutes(5), CancellationToken.None);

        Assert.Null(await queue.LeaseAsync(CancellationToken.None));
        queue.Time.Advance(TimeSpan.FromMinutes(5));
        var next = await queue.LeaseAsync(CancellationToken.None);
        Assert.NotNull(next);
        AssertSameJob(Job(attempt: 2), next.Job);
        queue.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(await queue.LeaseAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_dead_lettered_job_keeps_its_reason_and_description_and_is_not_handed_out()
    {
        await using var queue = await CreateAsync();
        await queue.Queue.EnqueueAsync(Job(), null, CancellationToken.None);

        await (await queue.LeaseAsync(CancellationToken.None))!.DeadLetterAsync(DeadLetterReasons.Failed, "550 5.1.1 no such user", CancellationToken.None);
        queue.Time.Advance(TimeSpan.FromDays(1));

        Assert.Null(await queue.LeaseAsync(CancellationToken.None));
        var dead = Assert.Single(await queue.DeadLettersAsync(CancellationToken.None));
        AssertSameJob(Job(), dead.Job!);
        Assert.Equal(DeadLetterReasons.Failed, dead.Reason);
        Assert.Equal("550 5.1.1 no such user", dead.Description);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"v":2,"id":"bad","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"bad","content":"c","mailFrom":"a@b","recipients":[],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    public async Task An_unreadable_job_is_dead_lettered_at_its_first_read_and_the_jobs_around_it_are_handed_out(string body)
    {
        await using var queue = await CreateAsync();
        await queue.Queue.EnqueueAsync(Job("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), null, CancellationToken.None);
        await queue.EnqueueRawAsync("bad00000000000000000000000000000", body, CancellationToken.None);
        await queue.Queue.EnqueueAsync(Job("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), null, CancellationToken.None);

        var leased = await queue.LeaseAllAsync(CancellationToken.None);

        Assert.Equal(["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], leased.Select(l => l.Job.MessageId).Order());
        var dead = Assert.Single(await queue.DeadLettersAsync(CancellationToken.None));
        Assert.Equal(("bad00000000000000000000000000000", DeadLetterReasons.MalformedJob), (dead.MessageId, dead.Reason));
        Assert.Null(dead.Job);
        Assert.False(string.IsNullOrWhiteSpace(dead.Description));

        // Never handed out again, not even when the lease it was read in has long ended.
        foreach (var lease in leased)
        {
            await lease.CompleteAsync(CancellationToken.None);
        }

        queue.Time.Advance(TimeSpan.FromDays(1));
        Assert.Empty(await queue.LeaseAllAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_trace_context_of_a_job_travels_with_it_and_with_its_reschedule()
    {
        await using var queue = await CreateAsync();
        var traced = Job() with { TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", TraceState = "congo=t61rcWkgMzE" };
        await queue.Queue.EnqueueAsync(traced, null, CancellationToken.None);

        var lease = await queue.LeaseAsync(CancellationToken.None);
        await lease!.RescheduleAsync(lease.Job with { Attempt = 2 }, Start.AddMinutes(1), CancellationToken.None);
        queue.Time.Advance(TimeSpan.FromMinutes(1));
        var next = await queue.LeaseAsync(CancellationToken.None);

        Assert.Equal((traced.TraceParent, traced.TraceState), (lease.Job.TraceParent, lease.Job.TraceState));
        Assert.Equal((traced.TraceParent, traced.TraceState), (next!.Job.TraceParent, next.Job.TraceState));
    }

    [Fact]
    public async Task A_job_without_a_trace_context_is_leased_without_one()
    {
        await using var queue = await CreateAsync();
        await queue.Queue.EnqueueAsync(Job(), null, CancellationToken.None);

        var lease = await queue.LeaseAsync(CancellationToken.None);

        Assert.Null(lease!.Job.TraceParent);
        Assert.Null(lease.Job.TraceState);
    }
}
