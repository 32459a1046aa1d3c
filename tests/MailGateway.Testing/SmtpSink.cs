using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MailGateway.Testing;

/// <summary>
/// Postfix's <c>smtp-sink</c> (Debian package postfix) on a loopback port: a real SMTP server that can misbehave on
/// request, e.g. <c>-Q CONNECT</c> (421 greeting and disconnect) or <c>-q .</c> (drop the connection after the final dot).
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    /// <summary>Where Debian installs it.</summary>
    public const string Executable = "/usr/sbin/smtp-sink";

    private readonly Process _process;

    private SmtpSink(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>Starts smtp-sink with the given options and waits until it accepts connections.</summary>
    public static async Task<SmtpSink> StartAsync(params string[] options)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} not found: install Debian's postfix package (tests/run.sh does).");
        }

        var port = FreePort.Next();
        var psi = new ProcessStartInfo(Executable) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        if (Environment.UserName == "root")
        {
            // smtp-sink refuses to keep root privileges.
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add("nobody");
        }

        foreach (var option in options)
        {
            psi.ArgumentList.Add(option);
        }

        psi.ArgumentList.Add($"127.0.0.1:{port}");
        psi.ArgumentList.Add("256");
        var process = Process.Start(psi) ?? throw new InvalidOperationException("smtp-sink did not start");
        _ = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();

        await Poll.UntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"smtp-sink exited with {process.ExitCode}: {await stderr}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, () => $"smtp-sink does not listen on port {port}");
        return new SmtpSink(process, port);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        _process.Dispose();
    }
}

/// <summary>A port that accepts TCP connections and closes them at once, counting them: a dead SMTP service.</summary>
public sealed class DeadPort : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private int _accepted;

    /// <summary>Starts accepting.</summary>
    public DeadPort()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoopAsync();
    }

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <summary>Connections accepted (and closed) so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _accepted);
                client.Client.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }
}
