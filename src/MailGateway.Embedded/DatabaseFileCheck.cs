using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace MailGateway.Embedded;

/// <summary>
/// The start-up check of the data folder's database, before anything opens it for writing: a damaged
/// <c>gateway.db</c> (not a database, truncated, failing SQLite's <c>quick_check</c>), an empty one, or a missing
/// one in a folder that was used before is reported as one sentence, and the file is left exactly as it is (read
/// through a read-only connection only). A new database is only ever created in a folder that shows no earlier use.
/// </summary>
public static class DatabaseFileCheck
{
    private static readonly byte[] Magic = "SQLite format 3\0"u8.ToArray();

    /// <summary>
    /// The problem with the database of <paramref name="options"/>, as one sentence naming the file, or null when the
    /// gateway may open it (it is sound, or it does not exist yet in an unused folder).
    /// </summary>
    /// <remarks>
    /// SQLite's <c>quick_check</c> (every page read) runs when the file is at most
    /// <see cref="EmbeddedStorageOptions.StartupQuickCheckMaxBytes"/> long, or always with <paramref name="fullCheck"/>;
    /// otherwise the header checks and a read of the schema stand for it (<see cref="NeedsFullCheckOffline"/> is then true).
    /// </remarks>
    public static string? FindProblem(EmbeddedStorageOptions options, bool fullCheck = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = options.DatabasePath;
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            var traces = EarlierUse(options);
            return traces.Count == 0
                ? null
                : $"The database {path} is missing, but the data folder was used before ({string.Join(", ", traces)}); restore the database, or move the data folder away to start with an empty one.";
        }

        try
        {
            return Inspect(path, file.Length, fullCheck || file.Length <= options.StartupQuickCheckMaxBytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"The database {path} cannot be read ({ex.Message}).";
        }
    }

    /// <summary>True when <see cref="FindProblem"/> at start left SQLite's full <c>quick_check</c> out (the database is larger than <see cref="EmbeddedStorageOptions.StartupQuickCheckMaxBytes"/>).</summary>
    public static bool NeedsFullCheckOffline(EmbeddedStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = new FileInfo(options.DatabasePath);
        return file.Exists && file.Length > options.StartupQuickCheckMaxBytes;
    }

    /// <summary>What in the data folder shows that a database was used there: the marker written when it was created, its journal, stored message files.</summary>
    private static List<string> EarlierUse(EmbeddedStorageOptions options)
    {
        var traces = new List<string>();
        foreach (var file in new[] { options.DatabaseMarkerPath, options.DatabasePath + "-wal", options.DatabasePath + "-shm" })
        {
            if (File.Exists(file))
            {
                traces.Add(Path.GetFileName(file));
            }
        }

        if (Directory.Exists(options.MessagesPath) && Directory.EnumerateFiles(options.MessagesPath, "*.eml", SearchOption.AllDirectories).Any())
        {
            traces.Add("message files in " + options.MessagesPath);
        }

        return traces;
    }

    private static string? Inspect(string path, long length, bool quickCheck)
    {
        var what = Damaged(path);
        if (length == 0)
        {
            // The gateway creates its database complete (written, then renamed), so an empty one was truncated.
            return $"The database {path} is empty (0 bytes): it was truncated or never written; restore it from a backup, or move the data folder away to start with an empty one.";
        }

        var header = new byte[100];
        int read;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        }

        if (read < header.Length)
        {
            return what($"truncated to {length} bytes, shorter than a database header");
        }

        if (!header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return what("it is not an SQLite database");
        }

        var rawPageSize = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(16));
        var pageSize = rawPageSize == 1 ? 65536 : rawPageSize;
        var changeCounter = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(24));
        var pages = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(28));
        var validFor = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(92));
        if (pageSize < 512 || (pageSize & (pageSize - 1)) != 0)
        {
            return what(string.Create(CultureInfo.InvariantCulture, $"its header is damaged (page size {pageSize})"));
        }

        // The header's page count is valid when its version-valid-for number matches the change counter.
        if (validFor == changeCounter && pages > 0 && length < (long)pages * pageSize)
        {
            return what(string.Create(CultureInfo.InvariantCulture, $"truncated to {length} of {(long)pages * pageSize} bytes"));
        }

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString();
        try
        {
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            if (!quickCheck)
            {
                // The schema (page 1 and the pages sqlite_schema spans) parsed, and the messages table readable: what a
                // start needs. The other pages are not read here: SQLite reports a damaged page when it reads it
                // (SQLITE_CORRUPT). The check is never run beside the live writer: a second, read-only connection
                // running quick_check there misread the WAL and broke the writer's (disk I/O errors, the WAL gone).
                command.CommandText = "SELECT count(*) FROM sqlite_schema WHERE type = 'table'";
                _ = command.ExecuteScalar();
                command.CommandText = "SELECT 1 FROM messages LIMIT 1";
                _ = command.ExecuteScalar();
                return null;
            }

            command.CommandText = "PRAGMA quick_check(1)";
            var result = command.ExecuteScalar() as string;
            return string.Equals(result, "ok", StringComparison.Ordinal) ? null : what("SQLite's quick_check reports: " + OneLine(result ?? "no answer"));
        }
        catch (SqliteException ex)
        {
            return what(OneLine(ex.Message));
        }
    }

    private static Func<string, string> Damaged(string path) =>
        problem => $"The database {path} is damaged ({problem}); it was left as it is. Restore it from a backup, or move the data folder away to start with an empty one.";

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
