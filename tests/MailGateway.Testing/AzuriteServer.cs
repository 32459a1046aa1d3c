using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MailGateway.Testing;

/// <summary>
/// Azurite (Blob and Table) for the storage tests: one per test run. <c>tests/run.sh</c> starts it once and exports
/// its endpoints; a test process started otherwise (an IDE, <c>dotnet test</c> on one project) starts its own on
/// random loopback ports with a temp folder, and kills it when the process exits. Each test creates its own
/// container and table names, so sharing is safe.
/// </summary>
public sealed partial class AzuriteServer
{
    /// <summary>The well-known development account key of the storage emulator (public, not a secret).</summary>
    public const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>The development account name.</summary>
    public const string DevAccountName = "devstoreaccount1";

    private static readonly Lazy<Task<AzuriteServer>> Shared = new(StartSharedAsync);

    private AzuriteServer(Uri blobEndpoint, Uri tableEndpoint)
    {
        BlobEndpoint = blobEndpoint;
        TableEndpoint = tableEndpoint;
    }

    /// <summary>The Blob service endpoint including the account, e.g. http://127.0.0.1:1234/devstoreaccount1.</summary>
    public Uri BlobEndpoint { get; }

    /// <summary>The Table service endpoint including the account.</summary>
    public Uri TableEndpoint { get; }

    /// <summary>A connection string for both services.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={DevAccountName};AccountKey={DevAccountKey};BlobEndpoint={BlobEndpoint};TableEndpoint={TableEndpoint};";

    /// <summary>The Azurite of this test run.</summary>
    public static Task<AzuriteServer> GetAsync() => Shared.Value;

    /// <summary>A fresh, lower-case name valid for a container or (letters only) a table.</summary>
    public static string UniqueName(string prefix) => (prefix + Guid.NewGuid().ToString("N")[..12]).ToLowerInvariant();

    private static async Task<AzuriteServer> StartSharedAsync()
    {
        var blob = Environment.GetEnvironmentVariable("MAILGATEWAY_TEST_AZURITE_BLOB");
        var table = Environment.GetEnvironmentVariable("MAILGATEWAY_TEST_AZURITE_TABLE");
        if (!string.IsNullOrEmpty(blob) && !string.IsNullOrEmpty(table))
        {
            return new AzuriteServer(new Uri(blob), new Uri(table));
        }

        var (process, blobPort, tablePort) = await StartProcessAsync(Path.Combine(Path.GetTempPath(), "azurite-" + Guid.NewGuid().ToString("N")));
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        };
        return new AzuriteServer(
            new Uri($"http://127.0.0.1:{blobPort}/{DevAccountName}"),
            new Uri($"http://127.0.0.1:{tablePort}/{DevAccountName}"));
    }

    /// <summary>Starts a private Azurite (for a test that must stop its storage) and returns it with its ports.</summary>
    public static async Task<(Process Process, int BlobPort, int TablePort)> StartProcessAsync(string location)
    {
        var exe = RepositoryRoot.Combine("tests", "azurite", "node_modules", ".bin", "azurite");
        if (!File.Exists(exe))
        {
            throw new InvalidOperationException($"Azurite is not installed at {exe}: run 'bash tests/run.sh' (or 'npm ci' in tests/azurite) first.");
        }

        Directory.CreateDirectory(location);
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--location", location, "--blobHost", "127.0.0.1", "--blobPort", "0", "--tableHost", "127.0.0.1",
                     "--tablePort", "0", "--queueHost", "127.0.0.1", "--queuePort", "0", "--disableTelemetry",
                     "--skipApiVersionCheck", "--loose",
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("Azurite did not start.");
        int? blobPort = null, tablePort = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (blobPort is null || tablePort is null)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException("Azurite exited before listening: " + await process.StandardError.ReadToEndAsync(timeout.Token));
            var match = ListeningLine().Match(line);
            if (match.Success)
            {
                var port = int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (match.Groups[1].Value == "Blob")
                {
                    blobPort = port;
                }
                else if (match.Groups[1].Value == "Table")
                {
                    tablePort = port;
                }
            }
        }

        // Keep draining output so a chatty Azurite never blocks on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return (process, blobPort.Value, tablePort.Value);
    }

    [GeneratedRegex(@"Azurite (Blob|Table|Queue) service is successfully listening at http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}
