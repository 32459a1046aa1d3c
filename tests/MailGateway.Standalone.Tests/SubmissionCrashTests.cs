using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using MailGateway.Testing;
using MailKit.Security;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// The 250 of SMTP submission means durable: the standalone host as a process, a message submitted with MailKit, the
/// process killed with SIGKILL right after the 250 (the relay holds every delivery until then), a restart on the same
/// data: the message is delivered.
/// </summary>
public sealed partial class SubmissionCrashTests
{
    [Fact]
    public async Task A_message_answered_250_is_delivered_after_kill_9_and_restart()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            Endpoints = [RelayEndpointKind.PlainOnly],

            // No delivery can finish before the kill: whatever the worker starts waits at MAIL.
            BeforeMailReply = ct => gate.Task.WaitAsync(ct),
        });
        var data = GatewayHost.NewDataDirectory();
        Directory.CreateDirectory(data);
        var settings = GatewayHost.Settings(relay, data, RelayEndpointKind.PlainOnly);
        settings["MailGateway:Inbound:Tls:CertificatePath"] = TestCertificates.Shared.WriteServerPfxFile("pfx-pw");
        settings["MailGateway:Inbound:Tls:CertificatePassword"] = "pfx-pw";

        string id;
        using (var first = await GatewayProcess.StartAsync(data, settings))
        {
            var port = await SubmissionPortAsync(first);
            using var client = await SubmissionTests.MailKitAsync(port, SecureSocketOptions.StartTls);
            await client.AuthenticateAsync("app", GatewayHost.AppKey);
            id = SubmissionTests.QueuedId(await client.SendAsync(SubmissionTests.Message("survives kill -9")));
            await first.KillAsync();
        }

        gate.SetResult();
        using var second = await GatewayProcess.StartAsync(data, settings);
        using var http = new HttpClient { BaseAddress = second.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayHost.AppKey);
        var status = await Poll.UntilAsync(
            async () => await GatewayHost.ReadAsync(await http.GetAsync($"/api/v1/messages/{id}")),
            body => body.ValueKind == System.Text.Json.JsonValueKind.Object && body.GetProperty("status").GetString() == "delivered",
            body => $"message {id}: {body}\n{second.Output}",
            TimeSpan.FromSeconds(90));
        Assert.Equal("delivered", status.GetProperty("status").GetString());
        Assert.Contains(relay.Messages, m => Encoding.ASCII.GetString(m.Data).Contains("Subject: survives kill -9", StringComparison.Ordinal));
    }

    private static async Task<int> SubmissionPortAsync(GatewayProcess gateway)
    {
        var line = await Poll.UntilAsync(
            () => Task.FromResult(SubmissionLine().Match(gateway.Output)),
            m => m.Success,
            _ => "the banner names the submission port:\n" + gateway.Output);
        return int.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"Submission SMTP: 127\.0\.0\.1:(\d+) \(STARTTLS\)")]
    private static partial Regex SubmissionLine();
}
