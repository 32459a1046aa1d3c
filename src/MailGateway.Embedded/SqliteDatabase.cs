using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>
/// The one SQLite file of the standalone host (queue, status and, by default, message content), in WAL mode with
/// <c>synchronous=FULL</c>: a commit is fsynced before it returns. All writes go through one connection and are
/// group-committed (SQLite has one writer at a time; one fsync for many waiting writes instead of one each). The WAL
/// is checkpointed by SQLite's automatic checkpoint (default <c>wal_autocheckpoint</c>, 1,000 pages) and truncated
/// back to <see cref="WalSizeLimit"/> after a checkpoint resets it.
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
            trace_parent TEXT,
            trace_state TEXT,
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
        CREATE TABLE IF NOT EXISTS contents (
            id TEXT PRIMARY KEY,
            sha256 BLOB NOT NULL,
            mime BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            owner TEXT NOT NULL,
            message_id TEXT NOT NULL,
            type TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS events_owner ON events (owner, seq);
        CREATE INDEX IF NOT EXISTS events_message ON events (message_id, seq);
        CREATE TABLE IF NOT EXISTS webhook_endpoints (
            name TEXT PRIMARY KEY,
            after INTEGER NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            failing_since INTEGER,
            next_attempt_at INTEGER,
            last_status INTEGER,
            last_error TEXT,
            disabled INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL
        );
        """;

    private const int MaxBatch = 256;

    /// <summary>The size the WAL file is truncated to after a checkpoint (<c>journal_size_limit</c>), in bytes.</summary>
    public const long WalSizeLimit = 64L * 1024 * 1024;

    private readonly string _connectionString;
    private readonly Channel<WriteItem> _writes = Channel.CreateUnbounded<WriteItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _initializeLock = new();
    private Task? _initialized;
    private Task? _writer;

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
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens a connection for reading.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync().WaitAsync(cancellationToken);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction and returns once it is committed (fsynced). Concurrent
    /// writes are group-committed: one writer runs every waiting piece of work in one transaction, each inside its
    /// own savepoint (a failing piece is rolled back alone), and one commit makes them all durable.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        await EnsureInitializedAsync().WaitAsync(cancellationToken);
        var item = new WriteItem((connection, transaction) => work(connection, transaction), cancellationToken);
        if (!_writes.Writer.TryWrite(item))
        {
            throw new ObjectDisposedException(nameof(SqliteDatabase));
        }

        return (T)(await item.Completion.Task)!;
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
            return _writer is { IsCompleted: false };
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _writes.Writer.TryComplete();
        try
        {
            _writer?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // The writer's failures were reported to the waiting callers.
        }
    }

    private async Task WriteLoopAsync(SqliteConnection connection)
    {
        var batch = new List<WriteItem>(MaxBatch);
        try
        {
            while (await _writes.Reader.WaitToReadAsync())
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _writes.Reader.TryRead(out var item))
                {
                    if (item.CancellationToken.IsCancellationRequested)
                    {
                        item.Completion.TrySetCanceled(item.CancellationToken);
                    }
                    else
                    {
                        batch.Add(item);
                    }
                }

                if (batch.Count > 0)
                {
                    RunBatch(connection, batch);
                }
            }
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    private static void RunBatch(SqliteConnection connection, List<WriteItem> batch)
    {
        var results = new object?[batch.Count];
        var failures = new Exception?[batch.Count];
        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            for (var i = 0; i < batch.Count; i++)
            {
                transaction.Save("item");
                try
                {
                    results[i] = batch[i].Work(connection, transaction);
                    transaction.Release("item");
                }
                catch (Exception ex)
                {
                    transaction.Rollback("item");
                    transaction.Release("item");
                    failures[i] = ex;
                }
            }

            transaction.Commit();
        }
        catch (Exception ex)
        {
            // Nothing of this batch is durable.
            foreach (var item in batch)
            {
                item.Completion.TrySetException(ex);
            }

            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (failures[i] is { } failure)
            {
                batch[i].Completion.TrySetException(failure);
            }
            else
            {
                batch[i].Completion.TrySetResult(results[i]);
            }
        }
    }

    private async Task<SqliteConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA journal_size_limit=" + WalSizeLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) + ";";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates the schema and starts the writer once; a failed attempt (disk unavailable) is retried by the next caller.</summary>
    private Task EnsureInitializedAsync()
    {
        lock (_initializeLock)
        {
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                _initialized = InitializeAsync();
            }

            return _initialized;
        }
    }

    private async Task InitializeAsync()
    {
        DurableFile.EnsureDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var connection = await OpenRawAsync(CancellationToken.None);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode=WAL;" + Schema;
            await command.ExecuteNonQueryAsync();
        }

        await MigrateAsync(connection);

        _writer = Task.Factory.StartNew(() => WriteLoopAsync(connection), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Brings a database made by an earlier version up to this schema (columns added since; existing rows keep their data).</summary>
    private static async Task MigrateAsync(SqliteConnection connection)
    {
        await using var probe = connection.CreateCommand();
        probe.CommandText = "SELECT count(*) FROM pragma_table_info('jobs') WHERE name = 'trace_parent'";
        if ((long)(await probe.ExecuteScalarAsync())! == 0)
        {
            await using var alter = connection.CreateCommand();
            alter.CommandText = "ALTER TABLE jobs ADD COLUMN trace_parent TEXT; ALTER TABLE jobs ADD COLUMN trace_state TEXT;";
            await alter.ExecuteNonQueryAsync();
        }
    }

    private sealed record WriteItem(Func<SqliteConnection, SqliteTransaction, object?> Work, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
