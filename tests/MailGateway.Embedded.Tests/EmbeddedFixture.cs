using MailGateway.Core.Delivery;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Embedded.Tests;

/// <summary>Real SQLite and files in a temp folder, a fake clock, and a scripted engine.</summary>
internal sealed class EmbeddedFixture : IDisposable
{
    public EmbeddedFixture(DeliveryRetryOptions? retry = null, bool sqliteContent = false)
    {
        Directory = Path.Combine(Path.GetTempPath(), "mgw-embedded-" + Guid.NewGuid().ToString("N"));
        Options = Microsoft.Extensions.Options.Options.Create(new EmbeddedStorageOptions { DataDirectory = Directory });
        Database = new SqliteDatabase(Options);
        Queue = new SqliteDeliveryQueue(Database, Time);
        Status = new SqliteMessageStatusStore(Database, Options, Time);
        Content = new FileMessageContentStore(Options, Time);
        SqliteContent = new SqliteMessageContentStore(Database, Content);
        Store = sqliteContent ? SqliteContent : Content;
        Retry = retry ?? new DeliveryRetryOptions { JitterFraction = 0 };
        Handler = new DeliveryJobHandler(Store, Status, Engine, new StaticOptionsMonitor<DeliveryRetryOptions>(Retry), Time, NullLogger<DeliveryJobHandler>.Instance);
    }

    public string Directory { get; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    public IOptions<EmbeddedStorageOptions> Options { get; }

    public SqliteDatabase Database { get; }

    public SqliteDeliveryQueue Queue { get; }

    public SqliteMessageStatusStore Status { get; }

    public FileMessageContentStore Content { get; }

    public SqliteMessageContentStore SqliteContent { get; }

    /// <summary>The content store of the handler and of <see cref="AcceptAsync"/> (files unless the fixture was made with SQLite content).</summary>
    public IMessageContentStore Store { get; }

    public ScriptedEngine Engine { get; } = new();

    public DeliveryRetryOptions Retry { get; }

    public DeliveryJobHandler Handler { get; }

    /// <summary>Accepts a message the way the API does: content, record, job.</summary>
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

internal sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}

/// <summary>An engine whose answers the test scripts; it records every request.</summary>
internal sealed class ScriptedEngine : IDeliveryEngine
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
