using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MailGateway.Testing;

/// <summary>Runs a built host (a .dll next to the test binaries) as a child process.</summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private HostProcess(Process process) => _process = process;

    /// <summary>Everything the process printed so far (stdout and stderr, line by line).</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts <c>dotnet {dll} {args}</c>, waits for the exit (at most two minutes) and returns what it printed.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunToExitAsync(string dll, params string[] args)
    {
        using var process = Process.Start(StartInfo(dll, args)) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Starts <c>dotnet {dll} {args}</c> and waits (at most a minute) for a line matching <paramref name="ready"/>,
    /// returned with the running process; disposing it kills the process.
    /// </summary>
    public static async Task<(HostProcess Host, Match Ready)> StartAsync(string dll, Regex ready, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(ready);
        var process = Process.Start(StartInfo(dll, args)) ?? throw new InvalidOperationException("dotnet did not start");
        var host = new HostProcess(process);
        var matched = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            host._output.Enqueue(line);
            if (ready.Match(line) is { Success: true } match)
            {
                matched.TrySetResult(match);
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var exited = process.WaitForExitAsync(deadline.Token);
        if (await Task.WhenAny(matched.Task, exited) != matched.Task)
        {
            await host.DisposeAsync();
            throw new InvalidOperationException("The host exited or did not get ready in time:\n" + host.Output);
        }

        return (host, await matched.Task);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static ProcessStartInfo StartInfo(string dll, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        return psi;
    }
}
