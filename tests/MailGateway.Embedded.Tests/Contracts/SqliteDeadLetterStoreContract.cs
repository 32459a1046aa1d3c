using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Testing;
using MailGateway.Testing.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Embedded.Tests.Contracts;

/// <summary>The dead-letter contract on the standalone host's SQLite table (real database file, file content store).</summary>
public sealed class SqliteDeadLetterStoreContract : DeadLetterStoreContract
{
    protected override Task<IDeadLetterStoreUnderTest> CreateAsync() => Task.FromResult<IDeadLetterStoreUnderTest>(new Sqlite());

    private sealed class Sqlite : IDeadLetterStoreUnderTest
    {
        private readonly EmbeddedFixture _f = new(start: Start);

        public Sqlite() => Store = new SqliteDeadLetterStore(_f.Database, _f.Queue, _f.Store, _f.Time);

        public IDeadLetterStore Store { get; }

        public IMessageStatusStore Status => _f.Status;

        public IMessageContentStore Content => _f.Store;

        public IDeliveryQueue Queue => _f.Queue;

        public FakeTimeProvider Time => _f.Time;

        public async Task<IDeliveryJobContext?> LeaseAsync(CancellationToken cancellationToken) =>
            (await _f.Queue.LeaseAsync(1, TimeSpan.FromHours(1), cancellationToken)).SingleOrDefault();

        public Task EnqueueRawAsync(string messageId, string body, CancellationToken cancellationToken) =>
            _f.ExecuteAsync(
                "INSERT INTO jobs (message_id, attempt, body, visible_at, enqueued_at) VALUES ($id, 1, $body, 0, 0)",
                ("$id", messageId), ("$body", body));

        public ValueTask DisposeAsync()
        {
            _f.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
