using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MailGateway.Standalone.Tests;

/// <summary>The standalone host as a child process (<c>dotnet MailGateway.Standalone.dll</c>), for crash tests.</summary>
internal sealed partial class GatewayProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private GatewayProcess(Process process) => _process = process;

    public Uri BaseAddress { get; private set; } = null!;

    public string Output => string.Join('\n', _output);

    public static async Task<GatewayProcess> StartAsync(string workingDirectory, IReadOnlyDictionary<string, string?> settings, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var process = Process.Start(StartInfo(workingDirectory, settings, environment)) ?? throw new InvalidOperationException("dotnet did not start");
        var gateway = new GatewayProcess(process);
        process.OutputDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var exited = process.WaitForExitAsync(timeout.Token);
        var first = await Task.WhenAny(gateway._listening.Task, exited);
        if (first != gateway._listening.Task)
        {
            throw new InvalidOperationException("The gateway exited or did not listen in time:\n" + gateway.Output);
        }

        gateway.BaseAddress = await gateway._listening.Task;
        return gateway;
    }

    /// <summary>Runs a gateway that is expected to refuse to start: its exit code, standard output and standard error.</summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunUntilExitAsync(string workingDirectory, IReadOnlyDictionary<string, string?> settings)
    {
        using var process = Process.Start(StartInfo(workingDirectory, settings)) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new InvalidOperationException("The gateway did not exit:\n" + await stdout + await stderr);
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static ProcessStartInfo StartInfo(string workingDirectory, IReadOnlyDictionary<string, string?> settings, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MailGateway.Standalone.dll"));
        foreach (var (key, value) in settings)
        {
            psi.ArgumentList.Add($"--{key}={value}");
        }

        psi.ArgumentList.Add("--Logging:LogLevel:Default=Warning");
        psi.Environment.Remove("ASPNETCORE_URLS");
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            psi.Environment[name] = value;
        }

        return psi;
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM (what a service manager or Ctrl+C sends): the host shuts down gracefully. Returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan deadline)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(deadline);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public bool HasExited => _process.HasExited;

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        var match = ApiLine().Match(line);
        if (match.Success)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    [GeneratedRegex(@"^\s*API:\s+(http://127\.0\.0\.1:\d+)/api/v1/messages")]
    private static partial Regex ApiLine();
}
