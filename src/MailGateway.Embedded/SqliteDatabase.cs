using System.Threading.Channels;
using MailGateway.Core.Storage;
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
            record TEXT NOT NULL,
            created_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS messages_updated ON messages (updated_at);
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
        CREATE TABLE IF NOT EXISTS write_probe (filler BLOB NOT NULL);
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
            updated_at INTEGER NOT NULL,
            resets INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS suppressions (
            owner TEXT NOT NULL,
            address TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            detail TEXT,
            message_id TEXT,
            PRIMARY KEY (owner, address)
        );
        CREATE TABLE IF NOT EXISTS webhooks (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            url TEXT NOT NULL,
            event_types TEXT NOT NULL,
            enabled INTEGER NOT NULL,
            secret TEXT NOT NULL,
            previous_secret TEXT,
            previous_secret_expires_at INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS webhooks_owner ON webhooks (owner, created_at);
        """;

    // What the readiness probe writes (and removes again) while writes fail: enough to need new pages, as real work does.
    private const int ProbeBytes = 64 * 1024;

    private const int MaxBatch = 256;

    /// <summary>The size the WAL file is truncated to after a checkpoint (<c>journal_size_limit</c>), in bytes.</summary>
    public const long WalSizeLimit = 64L * 1024 * 1024;

    private readonly string _connectionString;
    private readonly string _markerPath;
    private readonly Channel<WriteItem> _writes = Channel.CreateUnbounded<WriteItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _initializeLock = new();
    private Task? _initialized;
    private Task? _writer;

    // The last write the disk refused (full, I/O error, read-only), until a readiness probe writes again.
    private volatile string? _writeFailure;

    /// <summary>Opens (and on first use creates) the database of <paramref name="options"/>.</summary>
    public SqliteDatabase(IOptions<EmbeddedStorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Path = options.Value.DatabasePath;
        _markerPath = options.Value.DatabaseMarkerPath;

        // Never ReadWriteCreate: a database that vanished is an error, not a new empty one (see CreateAsync).
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWrite,
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

    /// <summary>The last write the disk refused (SQLite's error text), while it is not known to take writes again; or null.</summary>
    public string? WriteFailure => _writeFailure;

    /// <summary>
    /// True when a trivial query succeeds and writes are not failing. After a write failed for a storage reason (disk
    /// full, I/O error, read-only), every probe writes and removes a 64 KiB row: ready again only once that commits.
    /// </summary>
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using (var connection = await OpenAsync(cancellationToken))
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT count(*) FROM sqlite_master";
                _ = await command.ExecuteScalarAsync(cancellationToken);
            }

            if (_writer is not { IsCompleted: false })
            {
                return false;
            }

            if (_writeFailure is null)
            {
                return true;
            }

            await WriteAsync((connection, transaction) =>
            {
                using var probe = connection.CreateCommand();
                probe.Transaction = transaction;
                probe.CommandText = "INSERT INTO write_probe (filler) VALUES (zeroblob($bytes))";
                probe.Parameters.AddWithValue("$bytes", ProbeBytes);
                probe.ExecuteNonQuery();
                probe.CommandText = "DELETE FROM write_probe";
                probe.Parameters.Clear();
                return probe.ExecuteNonQuery();
            }, cancellationToken);
            _writeFailure = null;
            return true;
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
            SqliteStatements.Release(connection);
            await connection.DisposeAsync();
        }
    }

    /// <summary>SQLite's codes for a disk that does not take the write: full, I/O error, read-only, cannot open, damaged.</summary>
    private static bool IsStorageFailure(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 13 or 10 or 8 or 14 or 11 or 26 };

    private void RunBatch(SqliteConnection connection, List<WriteItem> batch)
    {
        // A disk error (full, I/O) can make SQLite roll back the whole transaction, not only the failing piece: that
        // piece fails, and the others run again in a new transaction (their work was undone with it).
        var pending = batch;
        while (pending.Count > 0)
        {
            pending = RunTransaction(connection, pending);
        }
    }

    /// <summary>Runs the batch in one transaction; returns the pieces to run again when SQLite rolled it back.</summary>
    private List<WriteItem> RunTransaction(SqliteConnection connection, List<WriteItem> batch)
    {
        var results = new object?[batch.Count];
        var failures = new Exception?[batch.Count];
        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            for (var i = 0; i < batch.Count; i++)
            {
                // The savepoint statements kept prepared (SqliteTransaction.Save/Release prepare theirs every time).
                SqliteStatements.Command(connection, transaction, "SAVEPOINT item").ExecuteNonQuery();
                try
                {
                    results[i] = batch[i].Work(connection, transaction);
                    SqliteStatements.Command(connection, transaction, "RELEASE item").ExecuteNonQuery();
                }
                catch (Exception ex)
                {
                    if (IsStorageFailure(ex))
                    {
                        _writeFailure = ex.Message;
                    }

                    if (SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) != 0)
                    {
                        batch[i].Completion.TrySetException(ex);
                        return [.. batch.Where((_, j) => j != i)];
                    }

                    transaction.Rollback("item");
                    transaction.Release("item");
                    failures[i] = ex;
                }
            }

            transaction.Commit();
        }
        catch (Exception ex)
        {
            if (IsStorageFailure(ex))
            {
                _writeFailure = ex.Message;
            }

            // Nothing of this batch is durable.
            foreach (var item in batch)
            {
                item.Completion.TrySetException(ex);
            }

            return [];
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

        return [];
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
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        DurableFile.EnsureDirectory(directory);
        var file = new FileInfo(Path);
        if (!file.Exists)
        {
            await CreateAsync(directory);
        }
        else if (file.Length == 0)
        {
            throw new InvalidDataException($"The database {Path} is empty (0 bytes); it is not re-initialised.");
        }

        if (!File.Exists(_markerPath))
        {
            await DurableFile.WriteAsync(_markerPath, System.Text.Encoding.ASCII.GetBytes("The database gateway.db of this folder exists; without it, the gateway does not start here.\n"), CancellationToken.None);
        }

        var connection = await OpenRawAsync(CancellationToken.None);
        // 600 before the WAL exists: SQLite gives its -wal and -shm the database file's mode.
        RestrictFiles();
        // The writer's statement journals in memory (temp_store): every item of a group commit runs in its own SAVEPOINT
        // (so that one failing item rolls back alone), and SQLite keeps the original of every page an item changes in that
        // journal, by default a temporary file (/var/tmp/etilqs_*): measured, 36 pwrite calls and ~87 KB per delivered
        // message that nothing ever reads unless an item fails. Only this connection: a reader's large sort stays in
        // temporary files.
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA temp_store=MEMORY;" + Schema;
            await command.ExecuteNonQueryAsync();
        }

        RestrictFiles();

        await MigrateAsync(connection);

        _writer = Task.Factory.StartNew(() => WriteLoopAsync(connection), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>The data folder (700), the database, its WAL and shared-memory file (600): the gateway's user only, also when an earlier version made them 755 and 644.</summary>
    private void RestrictFiles()
    {
        PrivateFiles.Restrict(System.IO.Path.GetDirectoryName(Path)!);
        PrivateFiles.Restrict(Path);
        PrivateFiles.Restrict(Path + "-wal");
        PrivateFiles.Restrict(Path + "-shm");
    }

    /// <summary>
    /// Creates the database whole: schema and WAL mode in a temp file, closed (checkpointed, fsynced), then renamed into
    /// place and the folder fsynced. A crash leaves no database or a complete one, never an empty file.
    /// </summary>
    private async Task CreateAsync(string directory)
    {
        var temp = System.IO.Path.Combine(directory, "." + System.IO.Path.GetFileName(Path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            var create = new SqliteConnectionStringBuilder { DataSource = temp, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
            await using (var connection = new SqliteConnection(create))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA synchronous=FULL; BEGIN;" + Schema + "COMMIT; PRAGMA journal_mode=WAL;";
                await command.ExecuteNonQueryAsync();
            }

            File.Move(temp, Path, overwrite: false);
        }
        finally
        {
            File.Delete(temp);
            File.Delete(temp + "-journal");
            File.Delete(temp + "-wal");
            File.Delete(temp + "-shm");
        }

        Core.Storage.DurableDirectory.Sync(directory);
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

        // The webhook state's reset count (a dispatcher's save of a state read before a reset keeps the reset).
        probe.CommandText = "SELECT count(*) FROM pragma_table_info('webhook_endpoints') WHERE name = 'resets'";
        if ((long)(await probe.ExecuteScalarAsync())! == 0)
        {
            await using var alter = connection.CreateCommand();
            alter.CommandText = "ALTER TABLE webhook_endpoints ADD COLUMN resets INTEGER NOT NULL DEFAULT 0";
            await alter.ExecuteNonQueryAsync();
        }

        await MigrateMessageListAsync(connection);
        await SqliteListFilters.MigrateAsync(connection);
    }

    /// <summary>
    /// The message list (newest first, keyset on <c>created_at, id</c>): the column, filled in from the stored record
    /// for rows written before it existed, and one index per way the list narrows by an indexed column (every key or
    /// one key's, with or without a state).
    /// </summary>
    private static async Task MigrateMessageListAsync(SqliteConnection connection)
    {
        await using var probe = connection.CreateCommand();
        probe.CommandText = "SELECT count(*) FROM pragma_table_info('messages') WHERE name = 'created_at'";
        if ((long)(await probe.ExecuteScalarAsync())! == 0)
        {
            await using var alter = connection.CreateCommand();
            alter.CommandText = "ALTER TABLE messages ADD COLUMN created_at INTEGER";
            await alter.ExecuteNonQueryAsync();
        }

        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE messages SET created_at = coalesce(
                CAST(round((julianday(json_extract(record, '$.createdAt')) - 2440587.5) * 86400000.0) AS INTEGER), updated_at)
            WHERE created_at IS NULL;
            CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at, id);
            CREATE INDEX IF NOT EXISTS messages_state_created ON messages (state, created_at, id);
            CREATE INDEX IF NOT EXISTS messages_owner_created ON messages (owner, created_at, id);
            CREATE INDEX IF NOT EXISTS messages_owner_state_created ON messages (owner, state, created_at, id);
            """;
        await command.ExecuteNonQueryAsync();
    }

    private sealed record WriteItem(Func<SqliteConnection, SqliteTransaction, object?> Work, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
