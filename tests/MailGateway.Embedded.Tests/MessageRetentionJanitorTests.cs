using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Embedded.Tests;

/// <summary>The janitor of the standalone host: leftovers of a crash, and final messages past their retention.</summary>
public sealed class MessageRetentionJanitorTests : IDisposable
{
    private readonly EmbeddedFixture _f = new(sqliteContent: true);
    private readonly RetentionOptions _retention = new();

    public void Dispose() => _f.Dispose();

    private MessageRetentionJanitor Janitor() => new(
        _f.Database, _f.Content, _f.Options, Microsoft.Extensions.Options.Options.Create(_retention),
        new StaticOptionsMonitor<DeliveryRetryOptions>(_f.Retry), _f.Time, NullLogger<MessageRetentionJanitor>.Instance);

    [Fact]
    public async Task The_content_a_crash_left_with_a_delivered_message_is_removed_and_waiting_content_is_kept()
    {
        // A crash after "delivered" was written and before the content was deleted (three commits before).
        await _f.AcceptAsync("delivered");
        await _f.Status.SetStateAsync("delivered", MessageState.Delivered, "250 OK", CancellationToken.None);
        await _f.AcceptAsync("waiting");

        var (leftovers, messages) = await Janitor().RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, leftovers);
        Assert.Equal(0, messages);
        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => _f.SqliteContent.OpenReadAsync(SqliteMessageContentStore.ReferenceFor("delivered"), CancellationToken.None));
        await using var waiting = await _f.SqliteContent.OpenReadAsync(SqliteMessageContentStore.ReferenceFor("waiting"), CancellationToken.None);
        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("delivered", CancellationToken.None))!.State);
    }

    [Fact]
    public async Task Final_messages_older_than_the_retention_are_removed_with_content_idempotency_keys_and_events()
    {
        _retention.FinalMessages = TimeSpan.FromDays(30);
        await _f.AcceptAsync("old-failed");
        await _f.Status.SetStateAsync("old-failed", MessageState.Failed, "550 no", CancellationToken.None);
        await _f.ExecuteAsync("INSERT INTO idempotency_keys (owner, key, request_hash, message_id, created_at) VALUES ('k', 'key-1', 'h', 'old-failed', 0)");
        await _f.AcceptAsync("old-deferred");
        await _f.Status.SetStateAsync("old-deferred", MessageState.Deferred, "451 later", CancellationToken.None);
        _f.Time.Advance(TimeSpan.FromDays(31));
        await _f.AcceptAsync("recent");
        await _f.Status.SetStateAsync("recent", MessageState.Delivered, "250 OK", CancellationToken.None);
        Assert.True(await CountAsync("SELECT count(*) FROM events WHERE message_id = 'old-failed'") > 0);

        var (_, messages) = await Janitor().RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, messages);
        Assert.Null(await _f.Status.GetAsync("old-failed", CancellationToken.None));
        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => _f.SqliteContent.OpenReadAsync(SqliteMessageContentStore.ReferenceFor("old-failed"), CancellationToken.None));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM idempotency_keys WHERE message_id = 'old-failed'"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM jobs WHERE message_id = 'old-failed'"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM events WHERE message_id = 'old-failed'"));
        Assert.True(await CountAsync("SELECT count(*) FROM events WHERE message_id = 'old-deferred'") > 0);
        Assert.True(await CountAsync("SELECT count(*) FROM events WHERE message_id = 'recent'") > 0);

        // Not final (still being retried) or final for less than the retention: kept.
        Assert.NotNull(await _f.Status.GetAsync("old-deferred", CancellationToken.None));
        Assert.NotNull(await _f.Status.GetAsync("recent", CancellationToken.None));
        await using var content = await _f.SqliteContent.OpenReadAsync(SqliteMessageContentStore.ReferenceFor("old-deferred"), CancellationToken.None);
    }

    [Fact]
    public async Task Message_files_of_final_messages_past_the_retention_and_old_temp_files_are_removed()
    {
        using var files = new EmbeddedFixture(contentStore: MessageContentStoreKind.Files);
        var job = await files.AcceptAsync("old-file");
        await files.Status.SetStateAsync("old-file", MessageState.Expired, "expired", CancellationToken.None);
        // The accept port keeps the content reference in the record (the fixture's shortcut does not).
        await files.ExecuteAsync("UPDATE messages SET record = json_set(record, '$.contentReference', $ref) WHERE id = 'old-file'", ("$ref", job.ContentReference));
        Assert.Equal(job.ContentReference, (await files.Status.GetAsync("old-file", CancellationToken.None))!.ContentReference);
        files.Time.Advance(TimeSpan.FromDays(31));
        var day = Directory.GetDirectories(Path.Combine(files.Options.Value.MessagesPath, "2026", "11")).Single();
        var oldTemp = Path.Combine(day, ".lost.eml.0123.tmp");
        var newTemp = Path.Combine(day, ".writing.eml.4567.tmp");
        await File.WriteAllTextAsync(oldTemp, "half");
        await File.WriteAllTextAsync(newTemp, "half");
        File.SetLastWriteTimeUtc(oldTemp, (files.Time.GetUtcNow() - TimeSpan.FromHours(2)).UtcDateTime);
        File.SetLastWriteTimeUtc(newTemp, files.Time.GetUtcNow().UtcDateTime);
        var janitor = new MessageRetentionJanitor(files.Database, files.Content, files.Options, Microsoft.Extensions.Options.Options.Create(_retention),
            new StaticOptionsMonitor<DeliveryRetryOptions>(files.Retry), files.Time, NullLogger<MessageRetentionJanitor>.Instance);

        var (leftovers, messages) = await janitor.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, leftovers);
        Assert.Equal(1, messages);
        Assert.Null(await files.Status.GetAsync("old-file", CancellationToken.None));
        Assert.Empty(Directory.GetFiles(day, "*.eml"));
        Assert.False(File.Exists(oldTemp));
        Assert.True(File.Exists(newTemp));
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = await _f.Database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
