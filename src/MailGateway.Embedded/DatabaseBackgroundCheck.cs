using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>
/// SQLite's full <c>quick_check</c> of a database too large to be read in full before the start
/// (<see cref="EmbeddedStorageOptions.StartupQuickCheckMaxBytes"/>), run once right after the host started, on a
/// read-only connection beside the writer (WAL: it reads a snapshot and blocks nobody). Damage it finds is logged as
/// critical, in the same sentence the start check would have printed, and makes <see cref="SqliteDatabase.IsReadyAsync"/>
/// false from then on (the queue, status and content checks of <c>/readyz</c> answer unhealthy), so an orchestrator
/// takes the instance out of service instead of letting it write on.
/// </summary>
public sealed partial class DatabaseBackgroundCheck : BackgroundService
{
    private readonly EmbeddedStorageOptions _options;
    private readonly SqliteDatabase _database;
    private readonly ILogger<DatabaseBackgroundCheck> _logger;

    /// <summary>Creates the check.</summary>
    public DatabaseBackgroundCheck(IOptions<EmbeddedStorageOptions> options, SqliteDatabase database, ILogger<DatabaseBackgroundCheck> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _database = database;
        _logger = logger;
    }

    /// <summary>Completes when the check has run (or was not needed); for tests.</summary>
    public Task Completion => ExecuteTask ?? Task.CompletedTask;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!DatabaseFileCheck.NeedsBackgroundCheck(_options))
        {
            return;
        }

        // Off the host's start: the check reads the whole file.
        await Task.Yield();
        LogStarted(new FileInfo(_options.DatabasePath).Length);
        var started = TimeProvider.System.GetTimestamp();
        var problem = await Task.Run(() => DatabaseFileCheck.FindProblem(_options, fullCheck: true), stoppingToken);
        if (problem is null)
        {
            LogPassed(TimeProvider.System.GetElapsedTime(started).TotalSeconds);
            return;
        }

        _database.ReportDamage(problem);
        LogDamaged(problem);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The database is {Bytes} bytes, larger than MailGateway:Storage:StartupQuickCheckMaxBytes: its full quick_check runs now, beside the work.")]
    private partial void LogStarted(long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "The database passed its full quick_check in {Seconds:F1} s.")]
    private partial void LogPassed(double seconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Problem} The host reports not ready from now on; stop it and restore the database.")]
    private partial void LogDamaged(string problem);
}
