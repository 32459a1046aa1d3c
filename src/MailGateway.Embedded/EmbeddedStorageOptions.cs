using System.ComponentModel.DataAnnotations;

namespace MailGateway.Embedded;

/// <summary>Where and how the standalone host keeps its data (configuration section <c>MailGateway:Storage</c>).</summary>
public sealed class EmbeddedStorageOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Storage";

    /// <summary>The data folder (database, message files when <see cref="ContentStore"/> is Files, capture, dev API key). Relative paths start at the working directory. Default <c>data</c>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DataDirectory { get; set; } = "data";

    /// <summary>How long an idempotency key is remembered. At least 24 hours; default 24 hours.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "365.00:00:00")]
    public TimeSpan IdempotencyKeyRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Where the composed messages wait for delivery: <see cref="MessageContentStoreKind.Sqlite"/> (default: in the
    /// database, made durable by the same group commit as the status record and the job) or
    /// <see cref="MessageContentStoreKind.Files"/> (one fsynced <c>.eml</c> file per message under <see cref="MessagesPath"/>).
    /// </summary>
    [EnumDataType(typeof(MessageContentStoreKind))]
    public MessageContentStoreKind ContentStore { get; set; } = MessageContentStoreKind.Sqlite;

    /// <summary>
    /// The largest database that SQLite's <c>quick_check</c> reads in full before the host starts (default 256 MiB).
    /// The check reads every page, so its time grows with the database (a 6.5 GB database of 1,000,000 queued messages
    /// took 3.5 minutes to start on the bench machine, no delivery and no open port meanwhile). A larger database gets
    /// the header checks and a read of its schema only (the start says so on standard output); its other pages are
    /// checked by SQLite as it reads them. Set it above the database's size to always check in full.
    /// </summary>
    [Range(0L, long.MaxValue)]
    public long StartupQuickCheckMaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>The SQLite database file (queue and status), under <see cref="DataDirectory"/>.</summary>
    public string DatabasePath => Path.Combine(Path.GetFullPath(DataDirectory), "gateway.db");

    /// <summary>
    /// The marker written next to the database when it is created: a folder with the marker and without the database
    /// lost its database, and the gateway refuses to start there instead of creating an empty one.
    /// </summary>
    public string DatabaseMarkerPath => Path.Combine(Path.GetFullPath(DataDirectory), "gateway.db.created");

    /// <summary>The folder of the composed messages waiting for delivery (<see cref="MessageContentStoreKind.Files"/>).</summary>
    public string MessagesPath => Path.Combine(Path.GetFullPath(DataDirectory), "messages");
}

/// <summary>The content store of the standalone host (<see cref="EmbeddedStorageOptions.ContentStore"/>).</summary>
public enum MessageContentStoreKind
{
    /// <summary><see cref="SqliteMessageContentStore"/>: a BLOB in the database, in the accept transaction.</summary>
    Sqlite,

    /// <summary><see cref="FileMessageContentStore"/>: a file per message (temp file, fsync, rename).</summary>
    Files,
}
