using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace MailGateway.Embedded;

/// <summary>
/// A statement of the single writer's hot path (the accept's inserts, the event log), prepared once on the writer's
/// connection and bound by position. Microsoft.Data.Sqlite looks every parameter up by name on every execution
/// (<c>sqlite3_bind_parameter_index</c> with the name converted to UTF-8 each time) and wraps each run in a data reader:
/// measured at about a third of the writer's time per accept. Values that the caller encoded to UTF-8 before it queued
/// the write (the record's and the events' JSON) are bound as they are. Kept by <see cref="SqliteStatements.Raw"/>;
/// runs inside the writer's open transaction like any command on that connection; a failed step throws the
/// <see cref="SqliteException"/> the command would have thrown.
/// </summary>
internal sealed class SqliteRawStatement : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;

    private SqliteRawStatement(SqliteConnection connection, sqlite3_stmt statement)
    {
        _connection = connection;
        _statement = statement;
    }

    /// <summary>Prepares <paramref name="sql"/> (one statement, positional <c>?</c> parameters) on <paramref name="connection"/>.</summary>
    internal static SqliteRawStatement Prepare(SqliteConnection connection, string sql)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v3(db, sql, raw.SQLITE_PREPARE_PERSISTENT, out var statement);
        if (rc != raw.SQLITE_OK)
        {
            statement?.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        // OK without a statement: the text held none (a constant here, so a bug).
        return new SqliteRawStatement(connection, statement ?? throw new ArgumentException("The SQL holds no statement.", nameof(sql)));
    }

    /// <summary>Binds UTF-8 text to the 1-based <paramref name="index"/>.</summary>
    internal void Text(int index, ReadOnlySpan<byte> utf8)
    {
        // An empty span has no address: SQLite would bind NULL, not ''.
        Check(utf8.IsEmpty ? raw.sqlite3_bind_text(_statement, index, string.Empty) : raw.sqlite3_bind_text(_statement, index, utf8));
    }

    /// <summary>Binds text (encoded to UTF-8 here) to the 1-based <paramref name="index"/>; null binds NULL.</summary>
    internal void Text(int index, string? value) =>
        Check(value is null ? raw.sqlite3_bind_null(_statement, index) : raw.sqlite3_bind_text(_statement, index, value));

    /// <summary>Binds an integer to the 1-based <paramref name="index"/>.</summary>
    internal void Integer(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    /// <summary>Binds a BLOB (copied by SQLite) to the 1-based <paramref name="index"/>.</summary>
    internal void Blob(int index, ReadOnlySpan<byte> value) =>
        Check(value.IsEmpty ? raw.sqlite3_bind_zeroblob(_statement, index, 0) : raw.sqlite3_bind_blob(_statement, index, value));

    /// <summary>Runs the statement to its end and resets it for the next use; returns the rows it changed.</summary>
    internal int Run()
    {
        var db = _connection.Handle!;
        var rc = raw.sqlite3_step(_statement);
        while (rc == raw.SQLITE_ROW)
        {
            rc = raw.sqlite3_step(_statement);
        }

        // The reset returns the step's error again; the bindings stay until the next use overwrites them.
        raw.sqlite3_reset(_statement);
        if (rc != raw.SQLITE_DONE)
        {
            raw.sqlite3_clear_bindings(_statement);
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        var changes = raw.sqlite3_changes(db);
        raw.sqlite3_clear_bindings(_statement);
        return changes;
    }

    /// <inheritdoc />
    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
        }
    }
}
