using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Submissions;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing.Contracts;

/// <summary>An accept port over the embedded stores of an <see cref="EmbeddedFixture"/> (the SQLite acceptor, or Core's claim check on them).</summary>
public sealed class EmbeddedAcceptorUnderTest(EmbeddedFixture fixture, IMessageAcceptor acceptor, IMessageContentStore content) : IAcceptorUnderTest
{
    /// <inheritdoc />
    public IMessageAcceptor Acceptor => acceptor;

    /// <inheritdoc />
    public IMessageStatusStore Status => fixture.Status;

    /// <inheritdoc />
    public IMessageContentStore Content => content;

    /// <inheritdoc />
    public FakeTimeProvider Time => fixture.Time;

    /// <inheritdoc />
    public async Task<IReadOnlyList<IDeliveryJobContext>> LeaseAllAsync(CancellationToken cancellationToken) =>
        await fixture.Queue.LeaseAsync(100, TimeSpan.FromHours(1), cancellationToken);

    /// <inheritdoc />
    public Task BreakQueueAsync() => fixture.BreakQueueAsync();

    /// <inheritdoc />
    public Task RepairQueueAsync() => fixture.RepairQueueAsync();

    /// <inheritdoc />
    public Task LoseJobsAsync() => fixture.ExecuteAsync("DELETE FROM jobs");

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        fixture.Dispose();
        return ValueTask.CompletedTask;
    }
}
