using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using MailGateway.Testing;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// Issue #15's "done when" for submission: a DKIM key configured, one message sent through the API and one through
/// <c>swaks --auth</c> on the submission port (STARTTLS, verifying the generated development certificate), both arrive
/// at the capture signed, and python3-dkim (what <c>dkimverify</c> runs) verifies both.
/// </summary>
public sealed partial class SubmissionDkimTests : IAsyncLifetime
{
    private readonly string _keys = Directory.CreateTempSubdirectory("mgw-submission-dkim-").FullName;
    private readonly Dictionary<string, string> _records = new(StringComparer.Ordinal);
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        var path = Path.Combine(_keys, "example.com.s1.pem");
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.True(CreateDkimKeyCommand.Run(["--domain", "example.com", "--selector", "s1", "--out", path], output, error) == 0, error.ToString());
        _records[RecordName().Match(output.ToString()).Groups[1].Value] = RecordValue().Match(output.ToString()).Groups[1].Value.TrimEnd();

        // No relay: the gateway delivers to its own capture; no certificate configured: the development one.
        _host = await GatewayHost.StartAsync(null, s =>
        {
            s["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
            s["MailGateway:Dkim:Keys:0:Domain"] = "example.com";
            s["MailGateway:Dkim:Keys:0:Selector"] = "s1";
            s["MailGateway:Dkim:Keys:0:PrivateKeyPath"] = path;
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }

    [Fact]
    public async Task A_message_through_the_API_and_one_through_swaks_auth_on_the_submission_port_both_arrive_signed_and_verify()
    {
        var apiId = await _host.SendAsync(GatewayHost.Message("through the API"));

        var pem = Path.Combine(_host.DataDirectory, DevSmtpCertificate.PemFileName);
        Assert.True(File.Exists(pem));
        var port = SubmissionTests.Submission(_host).LocalEndpoints[0].Port;
        var (exit, output) = await SwaksAsync(
            "--server", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tls", "--tls-verify", "--tls-ca-path", pem,
            "--auth", "PLAIN", "--auth-user", "app", "--auth-password", GatewayHost.AppKey,
            "--from", "app@example.com", "--to", "rcpt@example.net",
            "--header", "Subject: through swaks", "--body", "Signed on the way through submission.");
        Assert.True(exit == 0, output);
        var swaksId = SubmissionTests.QueuedId(output);

        await _host.WaitForStatusAsync(apiId, "delivered");
        await _host.WaitForStatusAsync(swaksId, "delivered");
        foreach (var subject in new[] { "through the API", "through swaks" })
        {
            var captured = Captured(subject);
            Assert.Contains("DKIM-Signature:", Encoding.ASCII.GetString(captured), StringComparison.Ordinal);
            var (valid, verification) = await DkimCheck.PythonDkimAsync(captured, _records);
            Assert.True(valid, subject + ": " + verification);
        }
    }

    private byte[] Captured(string subject)
    {
        var folder = Path.Combine(_host.DataDirectory, "capture", "inbound");
        var file = Directory.GetFiles(folder, "*.eml", SearchOption.AllDirectories)
            .Single(f => File.ReadAllText(f).Contains("Subject: " + subject, StringComparison.Ordinal));
        return File.ReadAllBytes(file);
    }

    private static async Task<(int ExitCode, string Output)> SwaksAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/swaks") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("swaks did not start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"name:\s+(\S+)")]
    private static partial Regex RecordName();

    [GeneratedRegex(@"value:\s+(.+)")]
    private static partial Regex RecordValue();
}
