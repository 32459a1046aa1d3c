using MailGateway.Core.Delivery;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Core.Tests.Queue;

/// <summary>MailGateway:Delivery:AttemptTimeout: one attempt never holds its delivery slot longer than the deadline.</summary>
public sealed class AttemptDeadlineTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly EmbeddedFixture _f = new(new DeliveryRetryOptions { JitterFraction = 0, AttemptTimeout = TimeSpan.FromMinutes(20) });

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task A_delivery_that_never_ends_is_deferred_at_the_deadline_and_its_job_settled()
    {
        await _f.AcceptAsync("m1");
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _f.Engine.Default = async (r, ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return ScriptedEngine.Delivered(r);
        };

        var handling = _f.HandleNextAsync();
        await started.Task.WaitAsync(Deadline);
        _f.Time.Advance(TimeSpan.FromMinutes(20));
        await handling.WaitAsync(Deadline);

        var record = (await _f.Status.GetAsync("m1", CancellationToken.None))!;
        Assert.Equal(MessageState.Deferred, record.State);
        Assert.Contains("attempt deadline", record.LastReply, StringComparison.Ordinal);
        Assert.Equal((1, 0), await _f.Queue.CountAsync(CancellationToken.None));
        Assert.NotNull(record.NextAttemptAt);
    }

    [Fact]
    public async Task A_job_whose_content_cannot_be_read_in_time_is_left_unsettled_for_MaxDeliveryCount()
    {
        await _f.AcceptAsync("m1");
        var store = new HangingStore(_f.Store);
        var handler = new DeliveryJobHandler(store, _f.Status, _f.Engine, new StaticOptionsMonitor<DeliveryRetryOptions>(_f.Retry), Microsoft.Extensions.Options.Options.Create(_f.Worker), _f.Time, NullLogger<DeliveryJobHandler>.Instance);
        var leased = Assert.Single(await _f.Queue.LeaseAsync(1, TimeSpan.FromMinutes(30), CancellationToken.None));

        var handling = handler.HandleAsync(leased, CancellationToken.None);
        await store.Entered.Task.WaitAsync(Deadline);
        _f.Time.Advance(TimeSpan.FromMinutes(20));
        await handling.WaitAsync(Deadline);

        Assert.Empty(_f.Engine.Requests);
        Assert.Equal((1, 0), await _f.Queue.CountAsync(CancellationToken.None));
        Assert.Empty(await _f.Queue.LeaseAsync(1, TimeSpan.FromMinutes(1), CancellationToken.None)); // still leased: not settled
    }

    private sealed class HangingStore(IMessageContentStore inner) : IMessageContentStore
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<string> SaveAsync(string messageId, ReadOnlyMemory<byte> mime, CancellationToken cancellationToken) => inner.SaveAsync(messageId, mime, cancellationToken);

        public async Task<Stream> OpenReadAsync(string reference, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }

        public Task DeleteAsync(string reference, CancellationToken cancellationToken) => inner.DeleteAsync(reference, cancellationToken);

        public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => inner.IsReadyAsync(cancellationToken);
    }
}
