using MailGateway.Testing;

namespace MailGateway.Listener.Tests;

/// <summary>The Container Apps host as a process: a bad setting stops it with its name, in one line.</summary>
public sealed class InboundHostProcessTests
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
}
