using System.Text;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing.Contracts;

/// <summary>A dead-letter store as the contract suite drives it: the port, and the queue and stores it works with.</summary>
public interface IDeadLetterStoreUnderTest : IAsyncDisposable
{
    /// <summary>The port under test.</summary>
    IDeadLetterStore Store { get; }

    /// <summary>The status store the dead letters' owners and replays go to.</summary>
    IMessageStatusStore Status { get; }

    /// <summary>The content store a purge deletes from.</summary>
    IMessageContentStore Content { get; }

    /// <summary>The queue jobs are enqueued on (and replayed to).</summary>
    IDeliveryQueue Queue { get; }

    /// <summary>The clock of every part.</summary>
    FakeTimeProvider Time { get; }

    /// <summary>Leases the next visible job the way the worker does (an unreadable one is dead-lettered there), or null.</summary>
    Task<IDeliveryJobContext?> LeaseAsync(CancellationToken cancellationToken);

    /// <summary>Puts a message on the queue whose body is <paramref name="body"/> as it is (not a job), for <paramref name="messageId"/>.</summary>
    Task EnqueueRawAsync(string messageId, string body, CancellationToken cancellationToken);
}

/// <summary>
/// The semantics of <see cref="IDeadLetterStore"/> that the SQLite table and the Service Bus dead-letter sub-queue
/// share: newest first with a cursor, the filters (owner, reason, time), a replay that enqueues exactly one next
/// attempt of the same message (also when two race) and returns the record to <c>deferred</c>, a purge that deletes
/// the content, and not-found for everything that is not a dead letter.
/// </summary>
public abstract class DeadLetterStoreContract
{
    /// <summary>The start of every test's clock.</summary>
    protected static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A fresh store with an empty queue.</summary>
    protected abstract Task<IDeadLetterStoreUnderTest> CreateAsync();

    /// <summary>
    /// Accepts a message (content, record, first job), leases its job, marks the record failed and dead-letters the job
    /// as the worker does; returns the job.
    /// </summary>
    public static async Task<DeliveryJob> DeadLetterAsync(
        IDeadLetterStoreUnderTest under, string id, string owner = "key-1", string reason = DeadLetterReasons.Failed, string description = "550 5.1.1 No such user")
    {
        ArgumentNullException.ThrowIfNull(under);
        var mime = Encoding.ASCII.GetBytes($"From: app@example.com\r\nTo: b@example.net\r\nSubject: dead\r\nMessage-ID: <{id}@example.com>\r\n\r\nHello\r\n");
        var reference = await under.Content.SaveAsync(id, mime, None);
        var now = under.Time.GetUtcNow();
        await under.Status.CreateAsync(new MessageRecord
        {
            Id = id,
            Owner = owner,
            State = MessageState.Queued,
            CreatedAt = now,
            UpdatedAt = now,
            ContentReference = reference,
            Envelope = new Envelope("app@example.com", ["b@example.net"]),
        }, null, None);
        var job = new DeliveryJob
        {
            MessageId = id,
            ContentReference = reference,
            MailFrom = "app@example.com",
            Recipients = ["b@example.net"],
            FirstSeen = now,
            ExpiresAt = now.AddDays(1),
        };
        await under.Queue.EnqueueAsync(job, null, None);
        var lease = await under.LeaseAsync(None) ?? throw new InvalidOperationException("The job was not leased.");
        Assert.Equal(id, lease.Job.MessageId);
        await under.Status.SetStateAsync(id, MessageState.Failed, description, None);
        await lease.DeadLetterAsync(reason, description, None);
        return job;
    }

    private static string Id(int i) => $"m{i:D2}" + Guid.NewGuid().ToString("N")[..12];

    private static async Task<DeadLetterEntry> SingleAsync(IDeadLetterStoreUnderTest under, string messageId) =>
        Assert.Single((await under.Store.ListAsync(new DeadLetterQuery { Limit = 100 }, None)).Items, e => e.MessageId == messageId);

    [Fact]
    public async Task A_dead_letter_is_listed_and_read_with_its_reason_description_owner_attempt_and_job()
    {
        await using var under = await CreateAsync();
        var job = await DeadLetterAsync(under, Id(1), owner: "key-7", description: "550 5.7.1 Refused by policy");

        var page = await under.Store.ListAsync(new DeadLetterQuery(), None);

        var entry = Assert.Single(page.Items);
        Assert.Null(page.Next);
        Assert.Equal((job.MessageId, "key-7", DeadLetterReasons.Failed, "550 5.7.1 Refused by policy", 1), (entry.MessageId, entry.Owner, entry.Reason, entry.Description, entry.Attempt));
        Assert.True(entry.DeliveryCount >= 1);
        Assert.Equal(Start, entry.DeadLetteredAt);
        Assert.NotNull(entry.Job);
        Assert.Equal((job.ContentReference, job.MailFrom), (entry.Job.ContentReference, entry.Job.MailFrom));
        Assert.Equal(job.Recipients, entry.Job.Recipients);

        var read = await under.Store.GetAsync(entry.Id, None);
        Assert.NotNull(read);
        Assert.Equal((entry.Id, entry.MessageId, entry.Owner, entry.Reason, entry.Description), (read.Id, read.MessageId, read.Owner, read.Reason, read.Description));
    }

    [Fact]
    public async Task The_list_is_newest_first_and_its_cursor_walks_every_dead_letter_once()
    {
        await using var under = await CreateAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await DeadLetterAsync(under, Id(i))).MessageId);
            under.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var walked = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await under.Store.ListAsync(new DeadLetterQuery { Limit = 2, After = cursor }, None);
            walked.AddRange(page.Items.Select(e => e.MessageId));
            cursor = page.Next;
            pages++;
        }
        while (cursor is not null);

        ids.Reverse();
        Assert.Equal(ids, walked);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task The_list_filters_by_owner_reason_and_time()
    {
        await using var under = await CreateAsync();
        var early = await DeadLetterAsync(under, Id(1), owner: "key-a", reason: DeadLetterReasons.Failed);
        under.Time.Advance(TimeSpan.FromMinutes(10));
        var expired = await DeadLetterAsync(under, Id(2), owner: "key-b", reason: DeadLetterReasons.Expired, description: "Expired before delivery");
        under.Time.Advance(TimeSpan.FromMinutes(10));
        var late = await DeadLetterAsync(under, Id(3), owner: "key-a", reason: DeadLetterReasons.Failed);

        async Task<string[]> ListAsync(DeadLetterQuery query) => [.. (await under.Store.ListAsync(query, None)).Items.Select(e => e.MessageId)];

        Assert.Equal([late.MessageId, early.MessageId], await ListAsync(new DeadLetterQuery { Owner = "key-a" }));
        Assert.Equal([expired.MessageId], await ListAsync(new DeadLetterQuery { Reason = DeadLetterReasons.Expired }));
        Assert.Equal([late.MessageId, early.MessageId], await ListAsync(new DeadLetterQuery { Reason = DeadLetterReasons.Failed }));
        Assert.Equal([late.MessageId, expired.MessageId], await ListAsync(new DeadLetterQuery { Since = Start.AddMinutes(10) }));
        Assert.Equal([expired.MessageId], await ListAsync(new DeadLetterQuery { Since = Start.AddMinutes(5), Until = Start.AddMinutes(20) }));
        Assert.Empty(await ListAsync(new DeadLetterQuery { Owner = "key-b", Reason = DeadLetterReasons.Failed }));
        Assert.Empty(await ListAsync(new DeadLetterQuery { Owner = "nobody" }));
    }

    [Fact]
    public async Task A_replay_enqueues_the_next_attempt_of_the_same_message_and_returns_the_record_to_deferred()
    {
        await using var under = await CreateAsync();
        var dead = await DeadLetterAsync(under, Id(1));
        var entry = await SingleAsync(under, dead.MessageId);
        under.Time.Advance(TimeSpan.FromHours(3));
        var now = under.Time.GetUtcNow();

        var result = await under.Store.ReplayAsync(entry.Id, "Replayed with API key 'ops'.", None);

        Assert.Equal(ReplayOutcome.Replayed, result.Outcome);
        Assert.NotNull(result.Job);
        Assert.Equal((dead.MessageId, dead.ContentReference, 2, now, (DateTimeOffset?)null),
            (result.Job.MessageId, result.Job.ContentReference, result.Job.Attempt, result.Job.FirstSeen, result.Job.ExpiresAt));
        var lease = await under.LeaseAsync(None);
        Assert.NotNull(lease);
        Assert.Equal((dead.MessageId, 2, dead.ContentReference), (lease.Job.MessageId, lease.Job.Attempt, lease.Job.ContentReference));
        Assert.Equal(dead.Recipients, lease.Job.Recipients);
        Assert.Null(await under.LeaseAsync(None));

        var record = await under.Status.GetAsync(dead.MessageId, None);
        Assert.NotNull(record);
        Assert.Equal(MessageState.Deferred, record.State);
        Assert.Equal("Replayed with API key 'ops'.", record.LastReply);
        Assert.Equal(now, record.NextAttemptAt);
        Assert.Null(await under.Store.GetAsync(entry.Id, None));
        Assert.Empty((await under.Store.ListAsync(new DeadLetterQuery(), None)).Items);
        Assert.Equal(ReplayOutcome.NotFound, (await under.Store.ReplayAsync(entry.Id, "again", None)).Outcome);
    }

    [Fact]
    public async Task Two_concurrent_replays_of_one_dead_letter_make_exactly_one_job()
    {
        await using var under = await CreateAsync();
        var dead = await DeadLetterAsync(under, Id(1));
        var entry = await SingleAsync(under, dead.MessageId);

        var results = await Task.WhenAll(
            Task.Run(() => under.Store.ReplayAsync(entry.Id, "first", None)),
            Task.Run(() => under.Store.ReplayAsync(entry.Id, "second", None)));

        Assert.Equal([ReplayOutcome.Replayed, ReplayOutcome.NotFound], results.Select(r => r.Outcome).Order());
        var lease = await under.LeaseAsync(None);
        Assert.NotNull(lease);
        Assert.Equal(dead.MessageId, lease.Job.MessageId);
        Assert.Null(await under.LeaseAsync(None));
    }

    [Fact]
    public async Task A_replayed_message_dead_lettered_again_is_a_new_dead_letter_with_the_later_attempt()
    {
        await using var under = await CreateAsync();
        var dead = await DeadLetterAsync(under, Id(1));
        var first = await SingleAsync(under, dead.MessageId);
        Assert.Equal(ReplayOutcome.Replayed, (await under.Store.ReplayAsync(first.Id, "replay", None)).Outcome);

        var lease = await under.LeaseAsync(None);
        Assert.NotNull(lease);
        await lease.DeadLetterAsync(DeadLetterReasons.Failed, "550 again", None);

        var second = await SingleAsync(under, dead.MessageId);
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal((2, "550 again"), (second.Attempt, second.Description));
    }

    [Fact]
    public async Task A_dead_letter_that_is_not_a_job_or_whose_record_is_gone_is_not_replayable_and_stays()
    {
        await using var under = await CreateAsync();
        await under.EnqueueRawAsync("raw-not-a-job", "{\"v\":99}", None);
        Assert.Null(await under.LeaseAsync(None));
        var orphan = await DeadLetterAsync(under, Id(2));
        await under.Status.DeleteAsync(orphan.MessageId, None);

        var unreadable = await SingleAsync(under, "raw-not-a-job");
        Assert.Equal(DeadLetterReasons.MalformedJob, unreadable.Reason);
        Assert.Null(unreadable.Job);
        var noRecord = await SingleAsync(under, orphan.MessageId);
        Assert.Equal("", noRecord.Owner);

        Assert.Equal(ReplayOutcome.NotReplayable, (await under.Store.ReplayAsync(unreadable.Id, "replay", None)).Outcome);
        Assert.Equal(ReplayOutcome.NotReplayable, (await under.Store.ReplayAsync(noRecord.Id, "replay", None)).Outcome);
        Assert.NotNull(await under.Store.GetAsync(unreadable.Id, None));
        Assert.NotNull(await under.Store.GetAsync(noRecord.Id, None));
        Assert.Equal(2, (await under.Store.ListAsync(new DeadLetterQuery(), None)).Items.Count);
        Assert.Null(await under.LeaseAsync(None));
        Assert.True(await under.Store.PurgeAsync(unreadable.Id, None));
    }

    [Fact]
    public async Task A_purge_removes_the_dead_letter_and_its_content_and_a_second_purge_finds_nothing()
    {
        await using var under = await CreateAsync();
        var dead = await DeadLetterAsync(under, Id(1));
        var kept = await DeadLetterAsync(under, Id(2));
        var entry = await SingleAsync(under, dead.MessageId);

        Assert.True(await under.Store.PurgeAsync(entry.Id, None));

        Assert.Null(await under.Store.GetAsync(entry.Id, None));
        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => under.Content.OpenReadAsync(dead.ContentReference, None));
        Assert.False(await under.Store.PurgeAsync(entry.Id, None));
        Assert.Equal(ReplayOutcome.NotFound, (await under.Store.ReplayAsync(entry.Id, "replay", None)).Outcome);
        Assert.Equal([kept.MessageId], (await under.Store.ListAsync(new DeadLetterQuery(), None)).Items.Select(e => e.MessageId));
        await using var content = await under.Content.OpenReadAsync(kept.ContentReference, None);
        Assert.NotNull(content);
        Assert.Null(await under.LeaseAsync(None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData(" 1")]
    [InlineData("99999999999999999999")]
    [InlineData("424242")]
    public async Task What_is_not_a_dead_letter_id_is_not_found(string id)
    {
        await using var under = await CreateAsync();
        await DeadLetterAsync(under, Id(1));

        Assert.Null(await under.Store.GetAsync(id, None));
        Assert.Equal(ReplayOutcome.NotFound, (await under.Store.ReplayAsync(id, "replay", None)).Outcome);
        Assert.False(await under.Store.PurgeAsync(id, None));
        Assert.Single((await under.Store.ListAsync(new DeadLetterQuery(), None)).Items);
    }
}
