using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>
/// The one SQLite file of the standalone host (queue and status), in WAL mode with <c>synchronous=FULL</c>: a commit
/// is fsynced before it returns. Writers are serialized in-process (SQLite has one writer at a time; waiting on a
/// semaphore is cheaper than SQLite's busy retries).
/// </summary>
public sealed class SqliteDatabase : IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS messages (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            state TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            record TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS idempotency_keys (
            owner TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            message_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (owner, key)
        );
        CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
        CREATE TABLE IF NOT EXISTS jobs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            body TEXT NOT NULL,
            visible_at INTEGER NOT NULL,
            delivery_count INTEGER NOT NULL DEFAULT 0,
            lease_token TEXT,
            enqueued_at INTEGER NOT NULL,
            UNIQUE (message_id, attempt)
        );
        CREATE INDEX IF NOT EXISTS jobs_visible ON jobs (visible_at);
        CREATE TABLE IF NOT EXISTS dead_letters (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            body TEXT NOT NULL,
            reason TEXT NOT NULL,
            description TEXT NOT NULL,
            delivery_count INTEGER NOT NULL,
            dead_lettered_at INTEGER NOT NULL
        );
        """;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lazy<Task> _initialized;

    /// <summary>Opens (and on first use creates) the database of <paramref name="options"/>.</summary>
    public SqliteDatabase(IOptions<EmbeddedStorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Path = options.Value.DatabasePath;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _initialized = new Lazy<Task>(InitializeAsync);
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens a connection with the durability pragmas set.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await _initialized.Value.WaitAsync(cancellationToken);
        return await OpenRawAsync(cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> in an immediate transaction while holding the in-process write lock, and commits.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        await using var connection = await OpenAsync(cancellationToken);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            var result = work(connection, transaction);
            transaction.Commit();
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>True when a trivial query succeeds.</summary>
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master";
            _ = await command.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _writeLock.Dispose();

    private async Task<SqliteConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA synchronous=FULL;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task InitializeAsync()
    {
        DurableFile.EnsureDirectory(System.IO.Path.GetDirectoryName(Path)!);
        await using var connection = await OpenRawAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;" + Schema;
        await command.ExecuteNonQueryAsync();
    }
}
