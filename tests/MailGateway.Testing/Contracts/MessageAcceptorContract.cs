using System.Text;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Submissions;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing.Contracts;

/// <summary>An accept port as the contract suite drives it, with the stores behind it for inspection.</summary>
public interface IAcceptorUnderTest : IAsyncDisposable
{
    /// <summary>The port.</summary>
    IMessageAcceptor Acceptor { get; }

    /// <summary>The status store it writes.</summary>
    IMessageStatusStore Status { get; }

    /// <summary>The content store the jobs reference.</summary>
    IMessageContentStore Content { get; }

    /// <summary>The clock of the stores.</summary>
    FakeTimeProvider Time { get; }

    /// <summary>Leases every job visible now.</summary>
    Task<IReadOnlyList<IDeliveryJobContext>> LeaseAllAsync(CancellationToken cancellationToken);

    /// <summary>Makes the queue refuse every enqueue (a store failure after the content and the record were written) until <see cref="RepairQueueAsync"/>.</summary>
    Task BreakQueueAsync();

    /// <summary>Ends <see cref="BreakQueueAsync"/>.</summary>
    Task RepairQueueAsync();

    /// <summary>Removes every queued job, as if the first job of an accepted message had been lost.</summary>
    Task LoseJobsAsync();
}

/// <summary>
/// The semantics of the accept port that the SQLite acceptor and the claim check share: accepted (content, record and
/// first job), scheduled, replay with the same request (same id, one job), the key reused with another request,
/// racing requests with one key (one message), a store failure (nothing visible), the replay of a message whose first
/// job was lost (the same job again), and batches.
/// </summary>
public abstract class MessageAcceptorContract
{
    /// <summary>The start of every test's clock.</summary>
    protected static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// <summary>A fresh acceptor on empty stores.</summary>
    protected abstract Task<IAcceptorUnderTest> CreateAsync();

    private static Submission Submission(IAcceptorUnderTest under, string? key = null, string hash = "hash-1", DateTimeOffset? sendAt = null, string subject = "hello")
    {
        var now = under.Time.GetUtcNow();
        var id = Guid.CreateVersion7(now).ToString("N");
        return new Submission
        {
            MessageId = id,
            Owner = "key-1",
            Envelope = new Envelope("app@example.com", ["b@example.net", "c@example.org"]),
            Content = Encoding.ASCII.GetBytes($"Message-ID: <{id}@example.com>\r\nFrom: app@example.com\r\nSubject: {subject}\r\n\r\nbody\r\n"),
            AcceptedAt = now,
            SendAt = sendAt,
            ExpiresAt = now.AddDays(1),
            Tags = ["welcome"],
            Metadata = new Dictionary<string, string> { ["order"] = "42" },
            IdempotencyKey = key,
            RequestHash = hash,
            TraceParent = TraceParent,
        };
    }

    [Fact]
    public async Task An_accepted_message_has_its_content_its_record_and_its_first_job()
    {
        await using var under = await CreateAsync();
        var submission = Submission(under);

        var result = await under.Acceptor.AcceptAsync(submission, CancellationToken.None);

        Assert.Equal(new AcceptResult(AcceptOutcome.Accepted, submission.MessageId, false), result);
        var record = (await under.Status.GetAsync(submission.MessageId, CancellationToken.None))!;
        Assert.Equal((MessageState.Queued, "key-1", Start), (record.State, record.Owner, record.CreatedAt));
        Assert.Equal(["welcome"], record.Tags);
        Assert.Equal("42", record.Metadata["order"]);
        var job = Assert.Single(await under.LeaseAllAsync(CancellationToken.None)).Job;
        Assert.Equal((submission.MessageId, "app@example.com", 1, Start, Start.AddDays(1)), (job.MessageId, job.MailFrom, job.Attempt, job.FirstSeen, job.ExpiresAt));
        Assert.Equal(submission.Envelope.Recipients, job.Recipients);
        Assert.Equal(TraceParent, job.TraceParent);
        Assert.Equal(submission.Content.ToArray(), await under.Content.ReadAllAsync(job.ContentReference));
    }

    [Fact]
    public async Task A_message_for_later_is_scheduled_and_its_job_waits_for_its_time()
    {
        await using var under = await CreateAsync();
        var submission = Submission(under, sendAt: Start.AddHours(2));

        var result = await under.Acceptor.AcceptAsync(submission, CancellationToken.None);

        Assert.Equal((AcceptOutcome.Accepted, true), (result.Outcome, result.Scheduled));
        var record = (await under.Status.GetAsync(submission.MessageId, CancellationToken.None))!;
        Assert.Equal((MessageState.Scheduled, Start.AddHours(2)), (record.State, record.NextAttemptAt));
        Assert.Empty(await under.LeaseAllAsync(CancellationToken.None));
        under.Time.Advance(TimeSpan.FromHours(2));
        var job = Assert.Single(await under.LeaseAllAsync(CancellationToken.None)).Job;
        Assert.Equal(Start.AddHours(2), job.FirstSeen); // the maximum-age clock starts when the message is due
    }

    [Fact]
    public async Task The_same_request_again_under_its_key_is_replayed_with_the_same_id_and_one_job()
    {
        await using var under = await CreateAsync();
        var first = Submission(under, key: "order-7");
        var again = Submission(under, key: "order-7");

        var a = await under.Acceptor.AcceptAsync(first, CancellationToken.None);
        var b = await under.Acceptor.AcceptAsync(again, CancellationToken.None);

        Assert.Equal(AcceptOutcome.Accepted, a.Outcome);
        Assert.Equal(new AcceptResult(AcceptOutcome.Replayed, first.MessageId, false), b);
        Assert.Null(await under.Status.GetAsync(again.MessageId, CancellationToken.None));
        Assert.Equal(first.MessageId, Assert.Single(await under.LeaseAllAsync(CancellationToken.None)).Job.MessageId);
    }

    [Fact]
    public async Task A_replay_of_a_scheduled_message_answers_scheduled()
    {
        await using var under = await CreateAsync();
        var first = Submission(under, key: "later", sendAt: Start.AddHours(1));

        await under.Acceptor.AcceptAsync(first, CancellationToken.None);
        var again = await under.Acceptor.AcceptAsync(Submission(under, key: "later", sendAt: Start.AddHours(1)), CancellationToken.None);

        Assert.Equal(new AcceptResult(AcceptOutcome.Replayed, first.MessageId, true), again);
    }

    [Fact]
    public async Task The_key_with_a_different_request_is_refused_and_stores_nothing()
    {
        await using var under = await CreateAsync();
        var first = Submission(under, key: "order-7", hash: "hash-1");
        var other = Submission(under, key: "order-7", hash: "hash-2", subject: "other");

        await under.Acceptor.AcceptAsync(first, CancellationToken.None);
        var result = await under.Acceptor.AcceptAsync(other, CancellationToken.None);

        Assert.Equal((AcceptOutcome.KeyReused, first.MessageId), (result.Outcome, result.MessageId));
        Assert.Null(await under.Status.GetAsync(other.MessageId, CancellationToken.None));
        Assert.Equal(first.MessageId, Assert.Single(await under.LeaseAllAsync(CancellationToken.None)).Job.MessageId);
    }

    [Fact]
    public async Task Racing_requests_with_one_key_make_one_message_with_one_job()
    {
        await using var under = await CreateAsync();
        var submissions = Enumerable.Range(0, 8).Select(_ => Submission(under, key: "race")).ToList();

        var results = await Task.WhenAll(submissions.Select(s => Task.Run(() => under.Acceptor.AcceptAsync(s, CancellationToken.None))));

        var winner = Assert.Single(results, r => r.Outcome == AcceptOutcome.Accepted);
        Assert.All(results, r => Assert.Equal(winner.MessageId, r.MessageId));
        Assert.Equal(7, results.Count(r => r.Outcome == AcceptOutcome.Replayed));
        Assert.Equal(winner.MessageId, Assert.Single(await under.LeaseAllAsync(CancellationToken.None)).Job.MessageId);
        foreach (var loser in submissions.Where(s => s.MessageId != winner.MessageId))
        {
            Assert.Null(await under.Status.GetAsync(loser.MessageId, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_store_failure_is_unavailable_and_leaves_nothing_visible()
    {
        await using var under = await CreateAsync();
        var submission = Submission(under);
        await under.BreakQueueAsync();

        var result = await under.Acceptor.AcceptAsync(submission, CancellationToken.None);
        await under.RepairQueueAsync();

        Assert.Equal((AcceptOutcome.Unavailable, AcceptResult.NothingAccepted), (result.Outcome, result.Reason));
        Assert.NotNull(result.Error);
        Assert.Null(await under.Status.GetAsync(submission.MessageId, CancellationToken.None));
        Assert.Empty(await under.LeaseAllAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_failed_accept_under_a_key_is_completed_by_the_retry_with_the_same_key()
    {
        await using var under = await CreateAsync();
        var first = Submission(under, key: "retry-me");
        await under.BreakQueueAsync();
        var failed = await under.Acceptor.AcceptAsync(first, CancellationToken.None);
        await under.RepairQueueAsync();

        var retried = await under.Acceptor.AcceptAsync(Submission(under, key: "retry-me"), CancellationToken.None);

        Assert.Equal(AcceptOutcome.Unavailable, failed.Outcome);
        Assert.Contains(retried.Outcome, new[] { AcceptOutcome.Accepted, AcceptOutcome.Replayed });
        var id = Assert.Single(await under.LeaseAllAsync(CancellationToken.None)).Job.MessageId;
        Assert.Equal(retried.MessageId, id);
    }

    [Fact]
    public async Task The_replay_of_a_queued_message_whose_job_was_lost_enqueues_the_same_first_job()
    {
        await using var under = await CreateAsync();
        var first = Submission(under, key: "lost");
        await under.Acceptor.AcceptAsync(first, CancellationToken.None);
        var original = Assert.Single(await under.LeaseAllAsync(CancellationToken.None)).Job;
        await under.LoseJobsAsync();
        Assert.Empty(await under.LeaseAllAsync(CancellationToken.None));

        var replayed = await under.Acceptor.AcceptAsync(Submission(under, key: "lost"), CancellationToken.None);

        Assert.Equal(new AcceptResult(AcceptOutcome.Replayed, first.MessageId, false), replayed);
        var again = Assert.Single(await under.LeaseAllAsync(CancellationToken.None)).Job;
        Assert.Equal(
            (original.MessageId, original.ContentReference, original.MailFrom, original.Attempt, original.FirstSeen, original.ExpiresAt),
            (again.MessageId, again.ContentReference, again.MailFrom, again.Attempt, again.FirstSeen, again.ExpiresAt));
        Assert.Equal(original.Recipients, again.Recipients);
        Assert.Equal(first.Content.ToArray(), await under.Content.ReadAllAsync(again.ContentReference));
    }

    [Fact]
    public async Task A_replay_of_a_message_past_its_first_attempt_enqueues_nothing()
    {
        await using var under = await CreateAsync();
        var first = Submission(under, key: "sent");
        await under.Acceptor.AcceptAsync(first, CancellationToken.None);
        await Assert.Single(await under.LeaseAllAsync(CancellationToken.None)).CompleteAsync(CancellationToken.None);
        await under.Status.SetStateAsync(first.MessageId, MessageState.Delivered, "250 ok", CancellationToken.None);

        var replayed = await under.Acceptor.AcceptAsync(Submission(under, key: "sent"), CancellationToken.None);

        Assert.Equal((AcceptOutcome.Replayed, first.MessageId), (replayed.Outcome, replayed.MessageId));
        under.Time.Advance(TimeSpan.FromHours(2));
        Assert.Empty(await under.LeaseAllAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_batch_answers_each_message_in_order_and_enqueues_every_accepted_one()
    {
        await using var under = await CreateAsync();
        var one = Submission(under);
        var two = Submission(under, key: "twice");
        var twoAgain = Submission(under, key: "twice");
        var reused = Submission(under, key: "twice", hash: "other");
        var later = Submission(under, sendAt: Start.AddHours(1));

        var results = await under.Acceptor.AcceptBatchAsync([one, two, twoAgain, reused, later], CancellationToken.None);

        Assert.Equal(
            [
                (AcceptOutcome.Accepted, one.MessageId, false),
                (AcceptOutcome.Accepted, two.MessageId, false),
                (AcceptOutcome.Replayed, two.MessageId, false),
                (AcceptOutcome.KeyReused, two.MessageId, false),
                (AcceptOutcome.Accepted, later.MessageId, true),
            ],
            results.Select(r => (r.Outcome, r.MessageId, r.Scheduled)));
        Assert.Equal(new[] { one.MessageId, two.MessageId }.Order(), (await under.LeaseAllAsync(CancellationToken.None)).Select(l => l.Job.MessageId).Order());
        Assert.Equal(MessageState.Scheduled, (await under.Status.GetAsync(later.MessageId, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task A_batch_that_meets_a_store_failure_accepts_nothing_it_cannot_keep()
    {
        await using var under = await CreateAsync();
        var submissions = new[] { Submission(under), Submission(under) };
        await under.BreakQueueAsync();

        var results = await under.Acceptor.AcceptBatchAsync(submissions, CancellationToken.None);
        await under.RepairQueueAsync();

        Assert.All(results, r => Assert.Equal(AcceptOutcome.Unavailable, r.Outcome));
        Assert.Empty(await under.LeaseAllAsync(CancellationToken.None));
        foreach (var submission in submissions)
        {
            Assert.Null(await under.Status.GetAsync(submission.MessageId, CancellationToken.None));
        }
    }
}
