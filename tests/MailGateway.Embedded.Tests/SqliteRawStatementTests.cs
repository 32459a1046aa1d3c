using Microsoft.Data.Sqlite;

namespace MailGateway.Embedded.Tests;

/// <summary>The writer's positional statements against the gateway's real database file.</summary>
public sealed class SqliteRawStatementTests : IDisposable
{
    private readonly EmbeddedFixture _f = new(sqliteContent: true);

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Empty_text_and_an_empty_blob_are_stored_as_empty_values_not_null()
    {
        await _f.Database.WriteAsync((connection, _) =>
        {
            var insert = SqliteStatements.Raw(connection, "INSERT INTO contents (id, sha256, mime) VALUES (?1, ?2, ?3)");
            insert.Text(1, ReadOnlySpan<byte>.Empty);
            insert.Blob(2, ReadOnlySpan<byte>.Empty);
            insert.Blob(3, "mime"u8);
            return insert.Run();
        }, CancellationToken.None);

        await using var connection = await _f.Database.OpenAsync(CancellationToken.None);
        using var command = SqliteMessageStatusStore.Command(connection, null, "SELECT typeof(id), length(id), typeof(sha256), length(sha256), mime FROM contents");
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal("text", reader.GetString(0));
        Assert.Equal(0L, reader.GetInt64(1));
        Assert.Equal("blob", reader.GetString(2));
        Assert.Equal(0L, reader.GetInt64(3));
        Assert.Equal("mime"u8.ToArray(), (byte[])reader.GetValue(4));
    }

    [Fact]
    public async Task A_failed_step_throws_the_sqlite_error_rolls_back_only_its_piece_and_the_statement_runs_again()
    {
        const string Sql = "INSERT INTO contents (id, sha256, mime) VALUES (?1, ?2, ?3)";
        int Insert(SqliteConnection connection, string id)
        {
            var insert = SqliteStatements.Raw(connection, Sql);
            insert.Text(1, id);
            insert.Blob(2, "h"u8);
            insert.Blob(3, "m"u8);
            return insert.Run();
        }

        Assert.Equal(1, await _f.Database.WriteAsync((connection, _) => Insert(connection, "a"), CancellationToken.None));

        // The same id again: the primary key refuses it, as the command would have.
        var error = await Assert.ThrowsAsync<SqliteException>(() => _f.Database.WriteAsync((connection, _) => Insert(connection, "a"), CancellationToken.None));
        Assert.Equal(19, error.SqliteErrorCode); // SQLITE_CONSTRAINT

        // The kept statement was reset after the failure: the next use works.
        Assert.Equal(1, await _f.Database.WriteAsync((connection, _) => Insert(connection, "b"), CancellationToken.None));
        await using var read = await _f.Database.OpenAsync(CancellationToken.None);
        using var count = SqliteMessageStatusStore.Command(read, null, "SELECT group_concat(id, ',') FROM (SELECT id FROM contents ORDER BY id)");
        Assert.Equal("a,b", await count.ExecuteScalarAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Null_text_binds_null()
    {
        await _f.Database.WriteAsync((connection, _) =>
        {
            var insert = SqliteStatements.Raw(connection, "INSERT INTO jobs (message_id, attempt, body, visible_at, enqueued_at, trace_parent) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
            insert.Text(1, "m1");
            insert.Integer(2, 1);
            insert.Text(3, "{}"u8);
            insert.Integer(4, 0);
            insert.Integer(5, 0);
            insert.Text(6, (string?)null);
            return insert.Run();
        }, CancellationToken.None);

        await using var connection = await _f.Database.OpenAsync(CancellationToken.None);
        using var command = SqliteMessageStatusStore.Command(connection, null, "SELECT typeof(trace_parent), body FROM jobs");
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal("null", reader.GetString(0));
        Assert.Equal("{}", reader.GetString(1));
    }
}
