using MailGateway.Core.Queue;
using MailGateway.Embedded;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.AzureAdapters.Tests.Contract;

/// <summary>The queue-port contract on the standalone host's SQLite queue.</summary>
public sealed class SqliteDeliveryQueueContract : DeliveryQueueContract
{
    protected override Task<IQueueUnderTest> CreateAsync() => Task.FromResult<IQueueUnderTest>(new Sqlite());

    private sealed class Sqlite : IQueueUnderTest
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "mailgateway-contract-" + Guid.NewGuid().ToString("N"));
        private readonly SqliteDatabase _database;
        private readonly SqliteDeliveryQueue _queue;

        public Sqlite()
        {
            _database = new SqliteDatabase(Options.Create(new EmbeddedStorageOptions { DataDirectory = _directory }));
            _queue = new SqliteDeliveryQueue(_database, Time);
        }

        public FakeTimeProvider Time { get; } = new(Start);

        public IDeliveryQueue Queue => _queue;

        public async Task<IDeliveryJobContext?> LeaseAsync(CancellationToken cancellationToken) =>
            (await _queue.LeaseAsync(1, TimeSpan.FromHours(1), cancellationToken)).SingleOrDefault();

        public async Task<IReadOnlyList<(DeliveryJob Job, string Reason, string Description)>> DeadLettersAsync(CancellationToken cancellationToken) =>
            [.. (await _queue.GetDeadLettersAsync(cancellationToken)).Select(d => (d.Job, d.Reason, d.Description))];

        public ValueTask DisposeAsync()
        {
            _database.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_directory, recursive: true);
            return ValueTask.CompletedTask;
        }
    }
}
