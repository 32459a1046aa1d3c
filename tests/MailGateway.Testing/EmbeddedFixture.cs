using MailGateway.Core.Delivery;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Embedded;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing;

/// <summary>
/// The real embedded stores (SQLite and files in a temp folder) as the real parts of a test, a fake clock, a scripted
/// engine and the host-agnostic <see cref="DeliveryJobHandler"/> over them.
/// </summary>
public sealed class EmbeddedFixture : IDisposable
{
    /// <summary>Creates the stores; <paramref name="sqliteContent"/> makes the handler's content store the SQLite one.</summary>
    public EmbeddedFixture(DeliveryRetryOptions? retry = null, bool sqliteContent = false, MessageContentStoreKind contentStore = MessageContentStoreKind.Sqlite, DateTimeOffset? start = null)
    {
        Time = new FakeTimeProvider(start ?? new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
        Directory = Path.Combine(Path.GetTempPath(), "mgw-embedded-" + Guid.NewGuid().ToString("N"));
        Options = Microsoft.Extensions.Options.Options.Create(new EmbeddedStorageOptions { DataDirectory = Directory, ContentStore = contentStore });
        Database = new SqliteDatabase(Options);
        Queue = new SqliteDeliveryQueue(Database, Time, NullLogger<SqliteDeliveryQueue>.Instance);
        Status = new SqliteMessageStatusStore(Database, Options, Time);
        Content = new FileMessageContentStore(Options, Time);
        SqliteContent = new SqliteMessageContentStore(Database, Content);
        Store = sqliteContent ? SqliteContent : Content;
        Retry = retry ?? new DeliveryRetryOptions { JitterFraction = 0 };
        Recorder = new SqliteDeliveryRecorder(Database, Content, Time, NullLogger<SqliteDeliveryRecorder>.Instance);
        Handler = new DeliveryJobHandler(Store, Status, Recorder, Engine, new StaticOptionsMonitor<DeliveryRetryOptions>(Retry), Microsoft.Extensions.Options.Options.Create(Worker), Time, NullLogger<DeliveryJobHandler>.Instance);
        Acceptor = new SqliteMessageAcceptor(Database, Status, Queue, Content, Options, Time, NullLogger<SqliteMessageAcceptor>.Instance);
    }

    /// <summary>The data folder.</summary>
    public string Directory { get; }

    /// <summary>The worker options the handler reads (the poison limit).</summary>
    public DeliveryWorkerOptions Worker { get; } = new();

    /// <summary>The SQLite accept port over these stores (content as <see cref="EmbeddedStorageOptions.ContentStore"/> says).</summary>
    public SqliteMessageAcceptor Acceptor { get; }

    /// <summary>The clock of every store.</summary>
    public FakeTimeProvider Time { get; }

    /// <summary>The storage options.</summary>
    public IOptions<EmbeddedStorageOptions> Options { get; }

    /// <summary>The database.</summary>
    public SqliteDatabase Database { get; }

    /// <summary>The queue.</summary>
    public SqliteDeliveryQueue Queue { get; }

    /// <summary>The status store.</summary>
    public SqliteMessageStatusStore Status { get; }

    /// <summary>The file content store.</summary>
    public FileMessageContentStore Content { get; }

    /// <summary>The SQLite content store.</summary>
    public SqliteMessageContentStore SqliteContent { get; }

    /// <summary>The content store of the handler and of <see cref="AcceptAsync"/> (files unless the fixture was made with SQLite content).</summary>
    public IMessageContentStore Store { get; }

    /// <summary>The engine the handler calls.</summary>
    public ScriptedEngine Engine { get; } = new();

    /// <summary>The retry options the handler reads (change them before a test acts).</summary>
    public DeliveryRetryOptions Retry { get; }

    /// <summary>How the handler records a delivery: the SQLite store's one transaction.</summary>
    public SqliteDeliveryRecorder Recorder { get; }

    /// <summary>The handler.</summary>
    public DeliveryJobHandler Handler { get; }

    /// <summary>Stores a message the way the claim check does: content, record, job.</summary>
    public async Task<DeliveryJob> AcceptAsync(string id, DateTimeOffset? expiresAt = null, IReadOnlyList<string>? recipients = null, DateTimeOffset? notBefore = null)
    {
        var mime = System.Text.Encoding.ASCII.GetBytes("From: a@example.com\r\nTo: b@example.net\r\nSubject: test\r\nMessage-ID: <" + id + "@example.com>\r\n\r\nHello\r\n");
        var reference = await Store.SaveAsync(id, mime, CancellationToken.None);
        var now = Time.GetUtcNow();
        await Status.CreateAsync(new MessageRecord { Id = id, Owner = "k", State = MessageState.Queued, CreatedAt = now, UpdatedAt = now, ExpiresAt = expiresAt }, null, CancellationToken.None);
        var job = new DeliveryJob
        {
            MessageId = id,
            ContentReference = reference,
            MailFrom = "a@example.com",
            Recipients = recipients ?? ["b@example.net"],
            FirstSeen = now,
            ExpiresAt = expiresAt,
        };
        await Queue.EnqueueAsync(job, notBefore, CancellationToken.None);
        return job;
    }

    /// <summary>Leases the one visible job and handles it.</summary>
    public async Task<LeasedJob> HandleNextAsync()
    {
        var leased = await Queue.LeaseAsync(1, TimeSpan.FromMinutes(15), CancellationToken.None);
        Assert.Single(leased);
        await Handler.HandleAsync(leased[0], CancellationToken.None);
        return leased[0];
    }

    /// <summary>Makes every insert into the queue fail (a store failure inside the accept transaction) until <see cref="RepairQueueAsync"/>.</summary>
    public Task BreakQueueAsync() => ExecuteAsync("CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'queue refuses'); END");

    /// <summary>Ends <see cref="BreakQueueAsync"/>.</summary>
    public Task RepairQueueAsync() => ExecuteAsync("DROP TRIGGER IF EXISTS refuse_jobs");

    /// <summary>Runs one statement in a write transaction (to arrange what no port can: a raw row, a trigger).</summary>
    public Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters) =>
        Database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            return command.ExecuteNonQuery();
        }, CancellationToken.None);

    /// <inheritdoc />
    public void Dispose()
    {
        Database.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}

/// <summary>An options monitor of one value the test may change.</summary>
public sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    /// <inheritdoc />
    public T CurrentValue => value;

    /// <inheritdoc />
    public T Get(string? name) => value;

    /// <inheritdoc />
    public IDisposable? OnChange(Action<T, string?> listener) => null;
}

/// <summary>An engine whose answers the test scripts; it records every request.</summary>
public sealed class ScriptedEngine : IDeliveryEngine
{
    private readonly Queue<Func<DeliveryRequest, CancellationToken, Task<DeliveryOutcome>>> _script = new();
    private readonly Lock _lock = new();

    public List<DeliveryRequest> Requests { get; } = [];

    public Func<DeliveryRequest, CancellationToken, Task<DeliveryOutcome>> Default { get; set; } = (r, _) => Task.FromResult(Delivered(r));

    public void Then(Func<DeliveryRequest, DeliveryOutcome> outcome)
    {
        lock (_lock)
        {
            _script.Enqueue((r, _) => Task.FromResult(outcome(r)));
        }
    }

    public Task<DeliveryOutcome> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        Func<DeliveryRequest, CancellationToken, Task<DeliveryOutcome>> next;
        lock (_lock)
        {
            Requests.Add(request);
            next = _script.Count > 0 ? _script.Dequeue() : Default;
        }

        return next(request, cancellationToken);
    }

    /// <summary>The Message-ID of the stored bytes the engine was given.</summary>
    public static string? MessageIdOf(DeliveryRequest r) => MimeKit.MimeMessage.Load(new MemoryStream(r.Content.ToArray())).MessageId;

    public static DeliveryOutcome Delivered(DeliveryRequest r) => Outcome(r, DeliveryOutcomeKind.Delivered, RecipientState.Delivered, new SmtpReply(250, "2.0.0", "OK queued"));

    public static DeliveryOutcome Deferred(DeliveryRequest r) => Outcome(r, DeliveryOutcomeKind.Deferred, RecipientState.Deferred, new SmtpReply(451, "4.3.0", "try later"));

    public static DeliveryOutcome Failed(DeliveryRequest r) => Outcome(r, DeliveryOutcomeKind.Failed, RecipientState.Failed, new SmtpReply(550, "5.1.1", "no such user"));

    public static DeliveryOutcome Unknown(DeliveryRequest r) => Outcome(r, DeliveryOutcomeKind.Unknown, RecipientState.Unknown, null);

    public static DeliveryOutcome Outcome(DeliveryRequest r, DeliveryOutcomeKind kind, RecipientState state, SmtpReply? reply) => new()
    {
        Kind = kind,
        Reason = reply?.ToString() ?? "connection lost after the final dot",
        Reply = reply,
        Port = 587,
        TlsProtocol = "Tls13",
        Duration = TimeSpan.FromMilliseconds(5),
        Recipients = [.. r.Envelope.Recipients.Select(a => new RecipientResult(a, state, reply))],
    };
}
