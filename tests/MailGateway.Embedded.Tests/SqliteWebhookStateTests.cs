using MailGateway.Core.Webhooks;
using MailGateway.Testing;
using Microsoft.Data.Sqlite;

namespace MailGateway.Embedded.Tests;

/// <summary>The webhook delivery state against a reset through the API (the registry's update with a reset).</summary>
public sealed class SqliteWebhookStateTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    private async Task<(SqliteWebhookRegistry Registry, SqliteWebhookStateStore States, string Id)> CreateAsync()
    {
        var registry = new SqliteWebhookRegistry(_f.Database, _f.Time);
        var states = new SqliteWebhookStateStore(_f.Database, _f.Time);
        var id = WebhookDefinition.NewId();
        var definition = new WebhookDefinition(id, "key-1", "https://hooks.example.net/in", [], true, WebhookSignature.NewSecret(), null, null, _f.Time.GetUtcNow());
        Assert.Equal(WebhookCreateOutcome.Created, await registry.CreateAsync(definition, 10, None));
        return (registry, states, id);
    }

    [Fact]
    public async Task A_failure_saved_from_a_state_read_before_a_reset_keeps_the_reset_and_moves_the_cursor_forward()
    {
        var (registry, states, id) = await CreateAsync();
        var start = (await states.FindAsync(id, None))!;
        await states.SaveAsync(start with { After = 5, Failures = 3, FailingSince = _f.Time.GetUtcNow(), NextAttemptAt = _f.Time.GetUtcNow().AddHours(1), LastStatus = 500, LastError = "500" }, None);
        // The dispatcher reads the state and sends a page; meanwhile the operator resets the endpoint.
        var read = (await states.FindAsync(id, None))!;
        Assert.Equal(0, read.Resets);
        Assert.NotNull(await registry.UpdateAsync(id, d => d, resetDeliveryState: true, None));
        // The dispatcher records what it saw: two more events acknowledged, then the schedule ran out.
        await states.SaveAsync(read with { After = 7, Failures = 4, Disabled = true, LastStatus = 503, LastError = "503" }, None);

        var after = (await states.FindAsync(id, None))!;
        Assert.Equal(7, after.After);
        Assert.Equal(0, after.Failures);
        Assert.False(after.Disabled);
        Assert.Null(after.FailingSince);
        Assert.Null(after.NextAttemptAt);
        Assert.Equal(1, after.Resets);
        // A state read after the reset saves whole again; a cursor never moves back.
        await states.SaveAsync(after with { After = 9, Failures = 1, LastStatus = 500 }, None);
        Assert.Equal(after with { After = 9, Failures = 1, LastStatus = 500 }, await states.FindAsync(id, None));
        await states.SaveAsync(read with { After = 8, Failures = 6 }, None);
        Assert.Equal(after with { After = 9, Failures = 1, LastStatus = 500 }, await states.FindAsync(id, None));
    }

    [Fact]
    public async Task An_update_without_a_reset_does_not_stop_the_state_from_being_saved()
    {
        var (registry, states, id) = await CreateAsync();
        var read = (await states.FindAsync(id, None))!;
        Assert.NotNull(await registry.UpdateAsync(id, d => d with { Url = "https://hooks.example.net/other" }, resetDeliveryState: false, None));
        await states.SaveAsync(read with { After = 3, Failures = 2, LastStatus = 500 }, None);
        Assert.Equal(read with { After = 3, Failures = 2, LastStatus = 500 }, await states.FindAsync(id, None));
    }

    [Fact]
    public async Task A_database_of_an_earlier_version_gets_the_reset_count_at_start_and_keeps_its_state()
    {
        var directory = Path.Combine(Path.GetTempPath(), "mgw-webhook-resets-" + Guid.NewGuid().ToString("N"));
        var options = Microsoft.Extensions.Options.Options.Create(new EmbeddedStorageOptions { DataDirectory = directory });
        try
        {
            string id;
            using (var old = new SqliteDatabase(options))
            {
                var registry = new SqliteWebhookRegistry(old, _f.Time);
                id = WebhookDefinition.NewId();
                await registry.CreateAsync(new WebhookDefinition(id, "key-1", "https://hooks.example.net/in", [], true, WebhookSignature.NewSecret(), null, null, _f.Time.GetUtcNow()), 10, None);
                var states = new SqliteWebhookStateStore(old, _f.Time);
                await states.SaveAsync((await states.FindAsync(id, None))! with { After = 4, Failures = 2 }, None);
            }

            // The table as the earlier version made it: without the column.
            SqliteConnection.ClearAllPools();
            await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = options.Value.DatabasePath }.ToString()))
            {
                await connection.OpenAsync();
                await using var drop = connection.CreateCommand();
                drop.CommandText = "ALTER TABLE webhook_endpoints DROP COLUMN resets";
                await drop.ExecuteNonQueryAsync();
            }

            SqliteConnection.ClearAllPools();
            using (var restarted = new SqliteDatabase(options))
            {
                var states = new SqliteWebhookStateStore(restarted, _f.Time);
                var read = (await states.FindAsync(id, None))!;
                Assert.Equal((4L, 2, 0L), (read.After, read.Failures, read.Resets));
                await new SqliteWebhookRegistry(restarted, _f.Time).UpdateAsync(id, d => d, resetDeliveryState: true, None);
                await states.SaveAsync(read with { After = 6, Failures = 3 }, None);
                var after = (await states.FindAsync(id, None))!;
                Assert.Equal((6L, 0, 1L), (after.After, after.Failures, after.Resets));
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
