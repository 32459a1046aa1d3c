using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Submissions;
using MailGateway.Testing;
using MailGateway.Testing.Contracts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Core.Tests.Submissions;

/// <summary>
/// The accept-port contract on Core's claim check over the embedded stores (file content, SQLite status and queue),
/// which share no transaction here: the sequence and cleanup rules themselves, apart from any Azure SDK. The Azure
/// composition runs the same contract in the adapter tests.
/// </summary>
public sealed class EmbeddedClaimCheckAcceptorContract : MessageAcceptorContract
{
    protected override Task<IAcceptorUnderTest> CreateAsync() => Task.FromResult<IAcceptorUnderTest>(new Under());

    private sealed class Under : IAcceptorUnderTest
    {
        private readonly EmbeddedFixture _f = new(start: Start);

        public Under()
        {
            Acceptor = new ClaimCheckMessageAcceptor(_f.Content, _f.Status, _f.Queue, NullLogger<ClaimCheckMessageAcceptor>.Instance);
        }

        public IMessageAcceptor Acceptor { get; }

        public IMessageStatusStore Status => _f.Status;

        public IMessageContentStore Content => _f.Content;

        public FakeTimeProvider Time => _f.Time;

        public async Task<IReadOnlyList<IDeliveryJobContext>> LeaseAllAsync(CancellationToken cancellationToken) =>
            await _f.Queue.LeaseAsync(100, TimeSpan.FromHours(1), cancellationToken);

        public Task BreakQueueAsync() => _f.BreakQueueAsync();

        public Task RepairQueueAsync() => _f.RepairQueueAsync();

        public Task LoseJobsAsync() => _f.ExecuteAsync("DELETE FROM jobs");

        public ValueTask DisposeAsync()
        {
            _f.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
