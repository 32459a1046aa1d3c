using MailGateway.Testing;

namespace MailGateway.Delivery.Tests;

/// <summary>The delivery worker host as a process: a bad setting stops it with its name, without a stack trace.</summary>
public sealed class DeliveryHostProcessTests
{
    [Fact]
    public async Task A_bad_setting_stops_the_host_with_exit_code_2_naming_it()
    {
        var (exitCode, stdout, stderr) = await HostProcess.RunToExitAsync("MailGateway.Delivery.dll",
            "--MailGateway:DeliveryWorker:MaxConcurrentCalls=0",
            "--MailGateway:ServiceBus:ConnectionString=Endpoint=sb://127.0.0.1/;SharedAccessKeyName=test;SharedAccessKey=dGVzdA==",
            "--MailGateway:AzureStorage:ConnectionString=UseDevelopmentStorage=true",
            "--MailGateway:Relay:Host=127.0.0.1");

        Assert.Equal(2, exitCode);
        Assert.StartsWith("Invalid configuration in MailGateway:DeliveryWorker:", stderr.Trim(), StringComparison.Ordinal);
        Assert.Contains("MaxConcurrentCalls", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
    }
}
