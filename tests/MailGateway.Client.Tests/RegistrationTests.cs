using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Client.Tests;

/// <summary>The DI registration: a configuration section, validation at start, one client.</summary>
public sealed class RegistrationTests
{
    [Fact]
    public async Task A_configuration_section_configures_the_client_that_sends_through_the_gateway()
    {
        await using var gateway = await Gateway.StartAsync();
        using var host = Build(new Dictionary<string, string?>
        {
            ["MailGateway:BaseAddress"] = gateway.BaseAddress.ToString(),
            ["MailGateway:ApiKey"] = Gateway.Key,
            ["MailGateway:MaxRetries"] = "5",
            ["MailGateway:RetryDelay"] = "00:00:02",
        });
        await host.StartAsync();

        var client = host.Services.GetRequiredService<MailGatewayClient>();
        var options = host.Services.GetRequiredService<IOptions<MailGatewayClientOptions>>().Value;
        var accepted = await client.Messages.SendAsync(RetryTests.Message("From configuration"));

        Assert.Same(client, host.Services.GetRequiredService<MailGatewayClient>());
        Assert.Equal((5, TimeSpan.FromSeconds(2)), (options.MaxRetries, options.RetryDelay));
        Assert.Equal(MessageStatus.Queued, accepted.Status);
        await host.StopAsync();
    }

    [Theory]
    [InlineData(null, "key", "MailGatewayClientOptions.BaseAddress is required")]
    [InlineData("ftp://mail.example.com", "key", "MailGatewayClientOptions.BaseAddress is required")]
    [InlineData("https://mail.example.com", null, "MailGatewayClientOptions.ApiKey is required.")]
    [InlineData("https://mail.example.com", "key with spaces", "MailGatewayClientOptions.ApiKey must be printable ASCII")]
    public async Task A_bad_setting_stops_the_host_at_start_naming_it(string? baseAddress, string? key, string message)
    {
        using var host = Build(new Dictionary<string, string?> { ["MailGateway:BaseAddress"] = baseAddress, ["MailGateway:ApiKey"] = key });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_constructors_check_the_options_too()
    {
        var error = Assert.Throws<ArgumentException>(() => new MailGatewayClient(new MailGatewayClientOptions { BaseAddress = new Uri("https://mail.example.com"), ApiKey = "k", MaxRetries = 11 }));

        Assert.Contains("MailGatewayClientOptions.MaxRetries must be between 0 and 10.", error.Message, StringComparison.Ordinal);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddMailGatewayClient(builder.Configuration.GetSection("MailGateway"));
        return builder.Build();
    }
}
