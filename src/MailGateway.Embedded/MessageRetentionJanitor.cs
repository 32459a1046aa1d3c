using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>
/// Every <see cref="RetentionOptions.Interval"/>: removes what a crash left (the stored content of delivered messages,
/// temp files of the message store older than an hour) and the messages that have been final longer than
/// <see cref="RetentionOptions.FinalMessages"/> (status record, content, idempotency keys, any job left).
/// </summary>
public sealed partial class MessageRetentionJanitor : BackgroundService
{
    private const int Batch = 500;
    private static readonly TimeSpan TempFileAge = TimeSpan.FromHours(1);
    private static readonly string FinalStates = string.Join(", ", Enum.GetValues<MessageState>().Where(s => s.IsFinal()).Select(s => $"'{s}'"));

    private readonly SqliteDatabase _database;
    private readonly FileMessageContentStore _files;
    private readonly EmbeddedStorageOptions _storage;
    private readonly RetentionOptions _retention;
    private readonly IOptionsMonitor<DeliveryRetryOptions> _delivery;
    private readonly TimeProvider _time;
    private readonly ILogger<MessageRetentionJanitor> _logger;

    /// <summary>Creates the janitor.</summary>
    public MessageRetentionJanitor(
        SqliteDatabase database,
        FileMessageContentStore files,
        IOptions<EmbeddedStorageOptions> storage,
        IOptions<RetentionOptions> retention,
        IOptionsMonitor<DeliveryRetryOptions> delivery,
        TimeProvider time,
        ILogger<MessageRetentionJanitor> logger)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(retention);
        _database = database;
        _files = files;
        _storage = storage.Value;
        _retention = retention.Value;
        _delivery = delivery;
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_retention.Interval, _time);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One round: leftovers first, then the messages past their retention. Returns what was removed.</summary>
    public async Task<(int Leftovers, int Messages)> RunOnceAsync(CancellationToken cancellationToken)
    {
        var leftovers = await RemoveLeftoversAsync(cancellationToken);
        var messages = await PurgeFinalMessagesAsync(cancellationToken);
        if (leftovers > 0 || messages > 0)
        {
            LogRemoved(leftovers, messages, _retention.FinalMessages);
        }

        return (leftovers, messages);
    }

    private async Task<int> RemoveLeftoversAsync(CancellationToken cancellationToken)
    {
        var removed = 0;
        if (_delivery.CurrentValue.DeleteContentAfterDelivery)
        {
            // Content rows are few (messages waiting for delivery); each is looked up by key in messages.
            removed += await _database.WriteAsync((connection, transaction) =>
            {
                using var command = SqliteMessageStatusStore.Command(connection, transaction, $"""
                    DELETE FROM contents WHERE id IN (
                        SELECT c.id FROM contents c JOIN messages m ON m.id = c.id WHERE m.state = '{MessageState.Delivered}')
                    """);
                return command.ExecuteNonQuery();
            }, cancellationToken);
        }

        var oldest = _time.GetUtcNow() - TempFileAge;
        removed += RemoveTempFiles(Path.GetFullPath(_storage.DataDirectory), SearchOption.TopDirectoryOnly, oldest);
        if (Directory.Exists(_storage.MessagesPath))
        {
            removed += RemoveTempFiles(_storage.MessagesPath, SearchOption.AllDirectories, oldest);
        }

        return removed;
    }

    /// <summary>Temp files of a write-then-rename (<c>.name.guid.tmp</c>) older than <paramref name="oldest"/>: a crash left them.</summary>
    private int RemoveTempFiles(string folder, SearchOption search, DateTimeOffset oldest)
    {
        var removed = 0;
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        foreach (var file in Directory.EnumerateFiles(folder, ".*.tmp", search))
        {
            try
            {
                if (File.GetLastWriteTimeUtc(file) < oldest.UtcDateTime)
                {
                    File.Delete(file);
                    removed++;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogTempFileLeft(ex, file);
            }
        }

        return removed;
    }

    private async Task<int> PurgeFinalMessagesAsync(CancellationToken cancellationToken)
    {
        var cutoff = UnixTime.Ms(_time.GetUtcNow() - _retention.FinalMessages);
        var total = 0;
        while (true)
        {
            var (count, files) = await _database.WriteAsync((connection, transaction) =>
            {
                var rows = new List<(string Id, string Record)>();
                using (var select = SqliteMessageStatusStore.Command(connection, transaction,
                           $"SELECT id, record FROM messages WHERE updated_at < $cutoff AND state IN ({FinalStates}) ORDER BY updated_at LIMIT {Batch}",
                           ("$cutoff", cutoff)))
                using (var reader = select.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        rows.Add((reader.GetString(0), reader.GetString(1)));
                    }
                }

                var fileReferences = new List<string>();
                foreach (var (id, record) in rows)
                {
                    SqliteMessageStatusStore.DeleteRow(connection, transaction, id);
                    foreach (var sql in new[]
                             {
                                 "DELETE FROM contents WHERE id = $id",
                                 "DELETE FROM idempotency_keys WHERE message_id = $id",
                                 "DELETE FROM jobs WHERE message_id = $id",
                                 // Its events: the feed and the webhook cursors skip what is gone (ids only increase).
                                 "DELETE FROM events WHERE message_id = $id",
                             })
                    {
                        using var delete = SqliteMessageStatusStore.Command(connection, transaction, sql, ("$id", id));
                        delete.ExecuteNonQuery();
                    }

                    if (SqliteMessageStatusStore.ContentReferenceOf(record) is { } reference && SqliteMessageContentStore.IdOf(reference) is null)
                    {
                        fileReferences.Add(reference);
                    }
                }

                return (rows.Count, fileReferences);
            }, cancellationToken);

            foreach (var reference in files)
            {
                try
                {
                    await _files.DeleteAsync(reference, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogTempFileLeft(ex, reference);
                }
            }

            total += count;
            if (count < Batch)
            {
                return total;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Leftovers} leftover(s) of earlier runs and {Messages} message(s) final for longer than {Retention}")]
    private partial void LogRemoved(int leftovers, int messages, TimeSpan retention);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove {File}")]
    private partial void LogTempFileLeft(Exception exception, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The retention janitor failed; it tries again at its next round")]
    private partial void LogFailed(Exception exception);
}
