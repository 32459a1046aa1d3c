using System.Security.Cryptography;
using MailGateway.Embedded;
using MailGateway.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// The host as a process on a damaged data folder: it refuses to start before its banner, with one line on standard
/// error naming the database and the problem, exit code 2, and the file's bytes unchanged. A folder that lost its
/// database is never silently given a new empty one.
/// </summary>
public sealed class DamagedDataFolderTests : IDisposable
{
    private readonly string _data = GatewayHost.NewDataDirectory();

    private string DatabasePath => Path.Combine(_data, "gateway.db");

    [Fact]
    public async Task A_garbage_database_stops_the_host_with_exit_code_2_and_one_line()
    {
        Directory.CreateDirectory(_data);
        var garbage = new byte[8192];
        new Random(10).NextBytes(garbage);
        await File.WriteAllBytesAsync(DatabasePath, garbage);

        await AssertRefusedAsync("not an SQLite database");
    }

    [Fact]
    public async Task A_truncated_database_stops_the_host_with_exit_code_2_and_one_line()
    {
        await CreateDatabaseWithMessagesAsync();
        var bytes = await File.ReadAllBytesAsync(DatabasePath);
        await File.WriteAllBytesAsync(DatabasePath, bytes[..(bytes.Length / 2)]);

        await AssertRefusedAsync("truncated");
    }

    [Fact]
    public async Task A_database_with_a_damaged_page_stops_the_host_with_exit_code_2_and_one_line()
    {
        await CreateDatabaseWithMessagesAsync();
        DamagePages();

        await AssertRefusedAsync("damaged");
    }

    [Fact]
    public async Task A_database_above_the_quick_check_size_is_checked_by_header_and_schema_and_the_start_says_so()
    {
        await CreateDatabaseWithMessagesAsync();
        var limit = new FileInfo(DatabasePath).Length - 1;
        var small = new EmbeddedStorageOptions { DataDirectory = _data, StartupQuickCheckMaxBytes = limit };
        Assert.True(DatabaseFileCheck.NeedsFullCheckOffline(small));
        Assert.False(DatabaseFileCheck.NeedsFullCheckOffline(new EmbeddedStorageOptions { DataDirectory = _data }));

        // Damaged pages in the second half of a copy: the short check leaves them out, the full one finds them.
        var copy = GatewayHost.NewDataDirectory();
        Directory.CreateDirectory(copy);
        try
        {
            File.Copy(DatabasePath, Path.Combine(copy, "gateway.db"));
            DamagePages(Path.Combine(copy, "gateway.db"));
            var damaged = new EmbeddedStorageOptions { DataDirectory = copy, StartupQuickCheckMaxBytes = limit };
            Assert.Null(DatabaseFileCheck.FindProblem(damaged));
            Assert.Contains("damaged", DatabaseFileCheck.FindProblem(damaged, fullCheck: true), StringComparison.Ordinal);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(copy, recursive: true);
        }

        // The sound database above the limit starts, and the start says what was left out.
        var settings = new Dictionary<string, string?>(GatewayHost.Settings(null, _data))
        {
            ["MailGateway:Storage:StartupQuickCheckMaxBytes"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        using var gateway = await GatewayProcess.StartAsync(_data, settings);
        Assert.Contains("its header and schema were checked, not every page", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_database_is_refused_at_start_even_above_the_quick_check_size()
    {
        await CreateDatabaseWithMessagesAsync();
        var bytes = await File.ReadAllBytesAsync(DatabasePath);
        await File.WriteAllBytesAsync(DatabasePath, bytes[..(bytes.Length / 2)]);

        var problem = DatabaseFileCheck.FindProblem(new EmbeddedStorageOptions { DataDirectory = _data, StartupQuickCheckMaxBytes = 0 });

        Assert.Contains("truncated", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_database_file_is_not_reinitialised()
    {
        await CreateDatabaseWithMessagesAsync();
        await File.WriteAllBytesAsync(DatabasePath, []);

        await AssertRefusedAsync("empty (0 bytes)");
        Assert.Equal(0, new FileInfo(DatabasePath).Length);
    }

    [Fact]
    public async Task A_used_data_folder_without_its_database_is_not_given_a_new_one()
    {
        await CreateDatabaseWithMessagesAsync();
        File.Delete(DatabasePath);

        var (exitCode, stdout, stderr) = await GatewayProcess.RunUntilExitAsync(_data, GatewayHost.Settings(null, _data));

        Assert.Equal(2, exitCode);
        var line = Assert.Single(Lines(stderr));
        Assert.Contains(DatabasePath, line, StringComparison.Ordinal);
        Assert.Contains("missing", line, StringComparison.Ordinal);
        Assert.DoesNotContain("is running", stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(DatabasePath));
    }

    [Fact]
    public async Task A_new_database_is_created_whole_with_its_marker()
    {
        var options = Options.Create(new EmbeddedStorageOptions { DataDirectory = _data });
        using (var database = new SqliteDatabase(options))
        {
            Assert.True(await database.IsReadyAsync(CancellationToken.None));
        }

        SqliteConnection.ClearAllPools();
        Assert.True(File.Exists(options.Value.DatabaseMarkerPath));
        Assert.Null(DatabaseFileCheck.FindProblem(options.Value));
        Assert.Empty(Directory.EnumerateFiles(_data, "*.tmp"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private async Task AssertRefusedAsync(string problem)
    {
        var before = await File.ReadAllBytesAsync(DatabasePath);

        var (exitCode, stdout, stderr) = await GatewayProcess.RunUntilExitAsync(_data, GatewayHost.Settings(null, _data));

        Assert.True(exitCode == 2, $"exit code {exitCode}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        var line = Assert.Single(Lines(stderr));
        Assert.Contains(DatabasePath, line, StringComparison.Ordinal);
        Assert.Contains(problem, line, StringComparison.Ordinal);
        Assert.DoesNotContain("is running", stdout, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(DatabasePath));
    }

    /// <summary>A database as the gateway makes it, with enough rows to span many pages, closed cleanly.</summary>
    private async Task CreateDatabaseWithMessagesAsync()
    {
        var options = Options.Create(new EmbeddedStorageOptions { DataDirectory = _data });
        using (var database = new SqliteDatabase(options))
        {
            for (var i = 0; i < 200; i++)
            {
                var id = $"m{i}";
                await database.WriteAsync((connection, transaction) =>
                {
                    using var command = connection.CreateCommand();
                    command.Transaction = transaction;
                    command.CommandText = "INSERT INTO messages (id, owner, state, updated_at, record, created_at) VALUES ($id, 'app', 'Queued', 0, $record, 0)";
                    command.Parameters.AddWithValue("$id", id);
                    command.Parameters.AddWithValue("$record", "{\"pad\": \"" + new string('x', 600) + "\"}");
                    return command.ExecuteNonQuery();
                }, CancellationToken.None);
            }
        }

        SqliteConnection.ClearAllPools();
        Assert.Null(DatabaseFileCheck.FindProblem(options.Value));
    }

    /// <summary>Overwrites every other page of the file's second half (b-tree pages of the tables, far from the schema and the tables' first pages).</summary>
    private void DamagePages() => DamagePages(DatabasePath);

    private static void DamagePages(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var pageSize = (bytes[16] << 8) | bytes[17];
        for (var i = Math.Max(4, bytes.Length / pageSize / 2) * pageSize; i < bytes.Length - pageSize; i += pageSize * 2)
        {
            RandomNumberGenerator.Fill(bytes.AsSpan(i, pageSize));
        }

        File.WriteAllBytes(path, bytes);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
