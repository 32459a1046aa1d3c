using MailGateway.Core.Queue;
using MailGateway.Core.Status;

namespace MailGateway.Embedded.Tests;

public sealed class SqliteMessageIntakeTests : IDisposable
{
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    private (MessageRecord, DeliveryJob) Message(string id) => (
        new MessageRecord { Id = id, Owner = "key1", State = MessageState.Queued, CreatedAt = _f.Time.GetUtcNow(), UpdatedAt = _f.Time.GetUtcNow() },
        new DeliveryJob { MessageId = id, ContentReference = "2026/11/28/" + id + ".eml", MailFrom = "a@example.com", Recipients = ["b@example.net"], FirstSeen = _f.Time.GetUtcNow() });

    [Fact]
    public async Task Records_the_message_and_enqueues_its_job_in_one_step()
    {
        var intake = new SqliteMessageIntake(_f.Database, _f.Status, _f.Queue, _f.Time);
        var (record, job) = Message("m1");

        var result = await intake.CreateAndEnqueueAsync(record, null, job, null, CancellationToken.None);

        Assert.True(result.Created);
        Assert.Equal(MessageState.Queued, (await _f.Status.GetAsync("m1", CancellationToken.None))!.State);
        Assert.Equal("m1", Assert.Single(await _f.Queue.LeaseAsync(5, TimeSpan.FromMinutes(1), CancellationToken.None)).Job.MessageId);
    }

    [Fact]
    public async Task A_repeated_idempotency_key_enqueues_nothing_and_returns_the_first_message()
    {
        var intake = new SqliteMessageIntake(_f.Database, _f.Status, _f.Queue, _f.Time);
        var claim = new IdempotencyClaim("key1", "k", "hash", _f.Time.GetUtcNow());
        var (first, firstJob) = Message("m1");
        var (second, secondJob) = Message("m2");

        await intake.CreateAndEnqueueAsync(first, claim, firstJob, null, CancellationToken.None);
        var again = await intake.CreateAndEnqueueAsync(second, claim, secondJob, null, CancellationToken.None);

        Assert.Equal((false, "m1", "hash"), (again.Created, again.MessageId, again.RequestHash));
        Assert.Null(await _f.Status.GetAsync("m2", CancellationToken.None));
        Assert.Equal((1, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_failing_insert_leaves_neither_record_nor_job()
    {
        var intake = new SqliteMessageIntake(_f.Database, _f.Status, _f.Queue, _f.Time);
        var (record, job) = Message("m1");
        await intake.CreateAndEnqueueAsync(record, null, job, null, CancellationToken.None);

        // Same id again without a claim: the record insert violates the primary key after nothing else was written.
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() =>
            intake.CreateAndEnqueueAsync(record, null, job with { Attempt = 7 }, null, CancellationToken.None));

        Assert.Equal((1, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }
}
