using MailGateway.Core.Queue;
using MailGateway.Testing.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Embedded.Tests.Contracts;

/// <summary>The queue-port contract on the standalone host's SQLite queue.</summary>
public sealed class SqliteDeliveryQueueContract : DeliveryQueueContract
{
    protected override Task<IQueueUnderTest> CreateAsync() => Task.FromResult<IQueueUnderTest>(new Sqlite());

    private sealed class Sqlite : IQueueUnderTest
    {
        private readonly EmbeddedFixture _f = new(start: Start);

        public FakeTimeProvider Time => _f.Time;

        public IDeliveryQueue Queue => _f.Queue;

        public async Task<IDeliveryJobContext?> LeaseAsync(CancellationToken cancellationToken) =>
            (await _f.Queue.LeaseAsync(1, TimeSpan.FromHours(1), cancellationToken)).SingleOrDefault();

        public async Task<IReadOnlyList<IDeliveryJobContext>> LeaseAllAsync(CancellationToken cancellationToken) =>
            await _f.Queue.LeaseAsync(100, TimeSpan.FromHours(1), cancellationToken);

        public Task EnqueueRawAsync(string messageId, string body, CancellationToken cancellationToken) =>
            _f.ExecuteAsync(
                "INSERT INTO jobs (message_id, attempt, body, visible_at, enqueued_at) VALUES ($id, 1, $body, 0, 0)",
                ("$id", messageId), ("$body", body));

        public async Task<IReadOnlyList<DeadLetteredJob>> DeadLettersAsync(CancellationToken cancellationToken) =>
            [.. (await _f.Queue.GetDeadLettersAsync(cancellationToken)).Select(d => new DeadLetteredJob(d.MessageId, d.Job, d.Reason, d.Description))];

        public ValueTask DisposeAsync()
        {
            _f.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
