using System.Net;
using MailGateway.Embedded;
using MailGateway.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// A full disk under a running gateway. The database is made full the way SQLite sees a full disk: the writer
/// connection's <c>max_page_count</c> is held at the current size and the free pages are used up, so every write that
/// needs space fails with SQLITE_FULL ("database or disk is full"). Writing <c>delivered</c> is made to need space
/// too (a trigger adds a row to it), as the WAL append of a real full disk does.
/// </summary>
public sealed class FullDiskTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_delivery_whose_recording_fails_is_recorded_when_the_disk_has_room_again_and_sent_once()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dataReplies = 0;
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            BeforeDataReply = ct =>
            {
                if (Interlocked.Increment(ref dataReplies) > 1)
                {
                    return Task.CompletedTask;
                }

                // The message is on the relay; its 250 waits until the disk is full.
                waiting.TrySetResult();
                return gate.Task.WaitAsync(ct);
            },
        });
        await using var host = await GatewayHost.StartAsync(relay, s => s["MailGateway:DeliveryWorker:LeaseDuration"] = "00:00:03");
        var database = host.Services.GetRequiredService<SqliteDatabase>();
        var id = await host.SendAsync();
        await waiting.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await FillDiskAsync(database);
        var (notReady, checks) = await ReadyAsync(host);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady);
        Assert.False(checks.GetProperty("statusStore").GetBoolean());
        Assert.False(checks.GetProperty("queue").GetBoolean());

        // The relay answers 250; writing "delivered" fails. Past two lease durations the message must still be
        // "sending" (not sent again), and /readyz must still say why.
        gate.SetResult();
        var until = TimeProvider.System.GetUtcNow() + 2 * Lease + TimeSpan.FromSeconds(1);
        await Poll.UntilAsync(
            async () => (Now: TimeProvider.System.GetUtcNow(), Status: (await host.StatusAsync(id)).GetProperty("status").GetString(), Ready: (await ReadyAsync(host)).Status),
            s =>
            {
                Assert.Equal("sending", s.Status);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, s.Ready);
                return s.Now > until;
            },
            s => $"status {s.Status}, ready {s.Ready}",
            TimeSpan.FromSeconds(60));
        Assert.Single(relay.Messages);

        await FreeDiskAsync(database);
        await host.WaitForStatusAsync(id, "delivered", TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(host)).Status);
        var queue = host.Services.GetRequiredService<SqliteDeliveryQueue>();
        await Poll.UntilAsync(() => queue.CountAsync(CancellationToken.None), c => c.Jobs == 0, c => $"{c.Jobs} job(s) left", TimeSpan.FromSeconds(30));
        Assert.Single(relay.Messages);
        Assert.Equal(1, Volatile.Read(ref dataReplies));
    }

    [Fact]
    public async Task Readiness_reports_the_database_while_writes_fail_and_recovers_when_they_succeed()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);
        var database = host.Services.GetRequiredService<SqliteDatabase>();
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(host)).Status);

        await FillDiskAsync(database);
        var (status, checks) = await ReadyAsync(host);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.False(checks.GetProperty("statusStore").GetBoolean());
        Assert.NotNull(database.WriteFailure);

        await FreeDiskAsync(database);
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(host)).Status);
        Assert.Null(database.WriteFailure);
    }

    private static async Task<(HttpStatusCode Status, System.Text.Json.JsonElement Checks)> ReadyAsync(GatewayHost host)
    {
        using var response = await host.Client.GetAsync("/readyz");
        var body = await GatewayHost.ReadAsync(response);
        return (response.StatusCode, body.GetProperty("checks").Clone());
    }

    /// <summary>Holds the database at its size and uses up its free pages: from now on a write that needs space fails with SQLITE_FULL.</summary>
    private static async Task FillDiskAsync(SqliteDatabase database)
    {
        await ExecuteAsync(database, """
            CREATE TABLE IF NOT EXISTS ballast (b BLOB);
            CREATE TRIGGER IF NOT EXISTS delivered_needs_space AFTER UPDATE OF state ON messages WHEN NEW.state = 'Delivered'
            BEGIN INSERT INTO ballast VALUES (zeroblob(262144)); END;
            """);
        await ExecuteAsync(database, "PRAGMA max_page_count = 1");
        for (var i = 0; i < 100_000; i++)
        {
            try
            {
                await ExecuteAsync(database, "INSERT INTO ballast VALUES (zeroblob(1024))");
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 13)
            {
                return;
            }
        }

        Assert.Fail("The database never became full.");
    }

    private static async Task FreeDiskAsync(SqliteDatabase database)
    {
        await ExecuteAsync(database, "DROP TRIGGER IF EXISTS delivered_needs_space; DELETE FROM ballast;");
        await ExecuteAsync(database, "PRAGMA max_page_count = 1073741823");
    }

    private static Task<int> ExecuteAsync(SqliteDatabase database, string sql) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            return command.ExecuteNonQuery();
        }, CancellationToken.None);
}
