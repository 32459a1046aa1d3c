using MailGateway.Core.Delivery;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Embedded.Tests;

/// <summary>
/// Settling a delivery on SQLite: the record, the job and the content go in one commit, and an outcome the store
/// refuses is kept and recorded later, never sent again.
/// </summary>
public sealed class SqliteDeliveryRecorderTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(15);
    private readonly EmbeddedFixture _f = new(sqliteContent: true);
    private readonly CountingRecorder _recorder;
    private readonly DeliveryJobHandler _handler;

    public SqliteDeliveryRecorderTests()
    {
        _recorder = new CountingRecorder(_f.Recorder);
        _handler = new DeliveryJobHandler(_f.Store, _f.Status, _recorder, _f.Engine, new StaticOptionsMonitor<DeliveryRetryOptions>(_f.Retry),
            Microsoft.Extensions.Options.Options.Create(_f.Worker), _f.Time, NullLogger<DeliveryJobHandler>.Instance);
    }

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Record_job_and_content_are_one_commit_a_failing_content_delete_leaves_nothing_half_done()
    {
        await _f.AcceptAsync("m1");
        await _f.ExecuteAsync("CREATE TRIGGER refuse_content_delete BEFORE DELETE ON contents BEGIN SELECT RAISE(ABORT, 'disk refuses'); END");
        var lease = Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));

        var handling = _handler.HandleAsync(lease, CancellationToken.None);
        await Poll.UntilAsync(() => _recorder.Calls >= 3, () => $"{_recorder.Calls} recording(s), handler {handling.Status}", eachPoll: () => _f.Time.Advance(TimeSpan.FromSeconds(1)));

        // Three separate commits would have left "delivered" with its job or content; one commit leaves nothing.
        Assert.False(handling.IsCompleted);
        Assert.Equal(MessageState.Sending, (await _f.Status.GetAsync("m1", CancellationToken.None))!.State);
        Assert.Equal(1, (await _f.Queue.CountAsync(CancellationToken.None)).Jobs);
        await using (var content = await _f.SqliteContent.OpenReadAsync(SqliteMessageContentStore.ReferenceFor("m1"), CancellationToken.None))
        {
            Assert.True(content.Length > 0);
        }

        await _f.ExecuteAsync("DROP TRIGGER refuse_content_delete");
        await Poll.UntilAsync(() => handling.IsCompleted, eachPoll: () => _f.Time.Advance(TimeSpan.FromSeconds(1)));
        await handling;

        var record = (await _f.Status.GetAsync("m1", CancellationToken.None))!;
        Assert.Equal(MessageState.Delivered, record.State);
        Assert.Single(record.Attempts);
        Assert.Equal(0, (await _f.Queue.CountAsync(CancellationToken.None)).Jobs);
        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => _f.SqliteContent.OpenReadAsync(SqliteMessageContentStore.ReferenceFor("m1"), CancellationToken.None));
        Assert.Single(_f.Engine.Requests);
    }

    [Fact]
    public async Task A_job_leased_again_while_its_delivery_is_not_recorded_waits_and_never_sends()
    {
        await _f.AcceptAsync("m2");
        await _f.ExecuteAsync("CREATE TRIGGER refuse_delivered BEFORE UPDATE ON messages WHEN NEW.state = 'Delivered' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
        var first = Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
        var handlingFirst = _handler.HandleAsync(first, CancellationToken.None);
        await Poll.UntilAsync(() => _recorder.Calls >= 2, () => $"{_recorder.Calls} recording(s)", eachPoll: () => _f.Time.Advance(TimeSpan.FromMilliseconds(500)));

        // The first lease runs out (its renewals failed too): the job is handed out again.
        await _f.Queue.ReleaseAllLeasesAsync(CancellationToken.None);
        var second = Assert.Single(await _f.Queue.LeaseAsync(1, Lease, CancellationToken.None));
        var handlingSecond = _handler.HandleAsync(second, CancellationToken.None);
        await Poll.UntilAsync(() => _recorder.Calls >= 4, () => $"{_recorder.Calls} recording(s)", eachPoll: () => _f.Time.Advance(TimeSpan.FromSeconds(1)));
        Assert.False(handlingSecond.IsCompleted);
        Assert.Single(_f.Engine.Requests);

        await _f.ExecuteAsync("DROP TRIGGER refuse_delivered");
        await Poll.UntilAsync(() => handlingFirst.IsCompleted && handlingSecond.IsCompleted, eachPoll: () => _f.Time.Advance(TimeSpan.FromSeconds(1)));
        await handlingFirst;
        await handlingSecond;

        Assert.Single(_f.Engine.Requests);
        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("m2", CancellationToken.None))!.State);
        Assert.Equal(0, (await _f.Queue.CountAsync(CancellationToken.None)).Jobs);
    }

    private sealed class CountingRecorder(IDeliveryRecorder inner) : IDeliveryRecorder
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task RecordDeliveredAsync(IDeliveryJobContext context, DeliveryAttemptRecord attempt, IReadOnlyList<RecipientResult> recipients, string? reply, bool deleteContent, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return inner.RecordDeliveredAsync(context, attempt, recipients, reply, deleteContent, cancellationToken);
        }
    }
}
