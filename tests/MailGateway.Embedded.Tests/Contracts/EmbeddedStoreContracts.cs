using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Testing.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Embedded.Tests.Contracts;

/// <summary>The status-port contract on the SQLite status store.</summary>
public sealed class SqliteMessageStatusStoreContract : MessageStatusStoreContract
{
    protected override Task<IStatusStoreUnderTest> CreateAsync() => Task.FromResult<IStatusStoreUnderTest>(new Under());

    private sealed class Under : IStatusStoreUnderTest
    {
        private readonly EmbeddedFixture _f = new(start: Start);

        public IMessageStatusStore Store => _f.Status;

        public FakeTimeProvider Time => _f.Time;

        public ValueTask DisposeAsync()
        {
            _f.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>The claim-check contract on the file store (<c>ContentStore=Files</c>).</summary>
public sealed class FileMessageContentStoreContract : MessageContentStoreContract, IDisposable
{
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    protected override Task<IMessageContentStore> CreateAsync() => Task.FromResult<IMessageContentStore>(_f.Content);
}

/// <summary>The claim-check contract on the SQLite content store (the default).</summary>
public sealed class SqliteMessageContentStoreContract : MessageContentStoreContract, IDisposable
{
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    protected override Task<IMessageContentStore> CreateAsync() => Task.FromResult<IMessageContentStore>(_f.SqliteContent);
}

/// <summary>The accept-port contract on the SQLite acceptor with the content in the database (one transaction).</summary>
public sealed class SqliteMessageAcceptorContract : MessageAcceptorContract
{
    protected override Task<IAcceptorUnderTest> CreateAsync() => Task.FromResult(Create(MessageContentStoreKind.Sqlite, Start));

    internal static IAcceptorUnderTest Create(MessageContentStoreKind contentStore, DateTimeOffset start)
    {
        var f = new EmbeddedFixture(sqliteContent: contentStore == MessageContentStoreKind.Sqlite, contentStore: contentStore, start: start);
        return new EmbeddedAcceptorUnderTest(f, f.Acceptor, f.Store);
    }
}

/// <summary>The accept-port contract on the SQLite acceptor with the content in files (<c>ContentStore=Files</c>).</summary>
public sealed class SqliteMessageAcceptorWithFilesContract : MessageAcceptorContract
{
    protected override Task<IAcceptorUnderTest> CreateAsync() => Task.FromResult(SqliteMessageAcceptorContract.Create(MessageContentStoreKind.Files, Start));
}

/// <summary>The operations contract (list, cancel) on the SQLite database.</summary>
public sealed class SqliteMessageOperationsContract : MessageOperationsContract
{
    protected override Task<IOperationsUnderTest> CreateAsync() => Task.FromResult<IOperationsUnderTest>(new Under());

    private sealed class Under : IOperationsUnderTest
    {
        private readonly EmbeddedFixture _f = new(start: Start);

        public Under() => Operations = new SqliteMessageOperations(_f.Database, _f.Time);

        public IMessageStatusStore Store => _f.Status;

        public IMessageOperations Operations { get; }

        public FakeTimeProvider Time => _f.Time;

        public ValueTask DisposeAsync()
        {
            _f.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
