using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;

namespace MailGateway.Infra.Tests;

/// <summary>One diagnostic of the Bicep CLI: <c>file(line,col) : Warning rule-name: message</c>.</summary>
public sealed record BicepDiagnostic(string File, int Line, int Column, string Level, string Code, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}({Line},{Column}) : {Level} {Code}: {Message}";
}

/// <summary>The result of one run of the CLI.</summary>
public sealed record BicepRun(string Arguments, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>The diagnostics printed by the run (on either stream).</summary>
    public IReadOnlyList<BicepDiagnostic> Diagnostics { get; } = BicepCli.ParseDiagnostics(StandardOutput + "\n" + StandardError);

    /// <summary>Errors and warnings: what the build must not have.</summary>
    public IReadOnlyList<BicepDiagnostic> Problems => Diagnostics.Where(d => d.Level is "Error" or "Warning").ToList();

    /// <summary>A message naming the command and everything it printed.</summary>
    public string Describe() => $"bicep {Arguments} exited {ExitCode}\n{StandardOutput}\n{StandardError}";
}

/// <summary>
/// Runs the Bicep CLI from the NuGet package <c>Azure.Bicep.CommandLine.linux-x64</c>, which the test project downloads
/// on restore (a PackageDownload). Its path is fixed at build time (assembly metadata <c>BicepPath</c>).
/// </summary>
public static partial class BicepCli
{
    private static readonly Lazy<string> Executable = new(Locate);

    /// <summary>The pinned version.</summary>
    public static string Version => Metadata("BicepVersion");

    /// <summary>The absolute path of the binary.</summary>
    public static string Path => Executable.Value;

    /// <summary>Runs <c>bicep</c> with the arguments in <paramref name="workingDirectory"/>.</summary>
    public static async Task<BicepRun> RunAsync(
        string workingDirectory,
        IReadOnlyDictionary<string, string>? environment,
        CancellationToken cancellationToken,
        params string[] arguments)
    {
        var start = new ProcessStartInfo(Path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {Path}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish within 3 minutes.");
        }

        return new BicepRun(string.Join(' ', arguments), process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Parses the diagnostics lines of the CLI's output.</summary>
    public static IReadOnlyList<BicepDiagnostic> ParseDiagnostics(string output) =>
        DiagnosticLine().Matches(output)
            .Select(m => new BicepDiagnostic(
                m.Groups["file"].Value.Trim(),
                int.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(m.Groups["col"].Value, System.Globalization.CultureInfo.InvariantCulture),
                m.Groups["level"].Value,
                m.Groups["code"].Value,
                m.Groups["message"].Value.Trim()))
            .ToList();

    [GeneratedRegex(@"^(?<file>.+?)\((?<line>\d+),(?<col>\d+)\) : (?<level>Error|Warning|Info) (?<code>[A-Za-z0-9-]+): (?<message>.*)$", RegexOptions.Multiline)]
    private static partial Regex DiagnosticLine();

    private static string Locate()
    {
        var path = Metadata("BicepPath");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The Bicep CLI {Version} is not at {path}. It comes from the NuGet package " +
                $"Azure.Bicep.CommandLine.linux-x64 {Version} (a PackageDownload of tests/MailGateway.Infra.Tests): run " +
                "`dotnet restore tests/MailGateway.Infra.Tests` with access to the NuGet feed.",
                path);
        }

        // The package holds the linux-x64 binary only. NuGet extracts files without the execute bit on some systems.
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException($"The Bicep CLI at {path} is the linux-x64 build; run these tests on Linux.");
        }

        var mode = File.GetUnixFileMode(path);
        if (!mode.HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        return path;
    }

    private static string Metadata(string key) =>
        typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} is missing: see MailGateway.Infra.Tests.csproj.");
}
