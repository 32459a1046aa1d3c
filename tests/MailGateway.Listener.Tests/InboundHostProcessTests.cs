using System.Globalization;
using System.Text.RegularExpressions;
using MailGateway.Testing;

namespace MailGateway.Listener.Tests;

/// <summary>The Container Apps host as a process.</summary>
public sealed partial class InboundHostProcessTests
{
    [Fact]
    public async Task A_bad_setting_stops_the_host_with_exit_code_2_and_one_line_naming_it()
    {
        var (exitCode, stdout, stderr) = await HostProcess.RunToExitAsync("MailGateway.Inbound.dll",
            "--MailGateway:Inbound:Domains:0=example.com", "--MailGateway:Inbound:MaxRecipients=0", "--MailGateway:Inbound:Store=FileSystem");

        Assert.Equal(2, exitCode);
        Assert.StartsWith("Invalid configuration in MailGateway:Inbound:", stderr.Trim(), StringComparison.Ordinal);
        Assert.Contains("MaxRecipients", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_Blob_endpoint_that_never_answers_the_host_answers_451_after_StoreTimeout()
    {
        using var hung = new HungEndpoint();
        var (host, ready) = await HostProcess.StartAsync("MailGateway.Inbound.dll", ListeningLine(),
            "--MailGateway:Inbound:Domains:0=example.test",
            "--MailGateway:Inbound:Endpoints:0:Address=127.0.0.1",
            "--MailGateway:Inbound:Endpoints:0:Port=0",
            "--MailGateway:Inbound:Store=Blob",
            "--MailGateway:AzureStorage:CreateIfNotExists=false",
            "--MailGateway:AzureStorage:ConnectionString=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
                + $"BlobEndpoint=http://127.0.0.1:{hung.Port}/devstoreaccount1;",
            "--MailGateway:Inbound:StoreTimeout=00:00:01",
            "--Logging:LogLevel:Default=Information");
        await using (host)
        {
            await using var client = await RawSmtpClient.ConnectAndGreetAsync(int.Parse(ready.Groups[1].Value, CultureInfo.InvariantCulture));
            await client.CommandAsync("MAIL FROM:<a@remote.test>");
            await client.CommandAsync("RCPT TO:<b@example.test>");
            await client.CommandAsync("DATA");

            var reply = await client.CommandAsync("Subject: hung blob\r\n\r\nHello.\r\n.");

            // The 451 is the store bound's, not another storage error's: the host logs which.
            Assert.StartsWith("451 4.3.0 ", reply.Text, StringComparison.Ordinal);
            await LimitTests.PollAsync(() => host.Output.Contains("within 00:00:01 (MailGateway:Inbound:StoreTimeout)", StringComparison.Ordinal));
        }
    }

    [GeneratedRegex(@"Inbound SMTP listener on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}
