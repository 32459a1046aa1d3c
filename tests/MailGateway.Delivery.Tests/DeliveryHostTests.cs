using System.Net;
using System.Text.Json;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.Delivery.Tests;

public sealed class DeliveryHostTests
{
    [Fact]
    public async Task Health_is_alive_and_readiness_follows_the_queue_and_stores()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await DeliveryHostHarness.StartAsync(await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls)));
        using var client = host.Client();

        using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        host.Sender.Ready = false;
        using var notReady = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        var checks = JsonDocument.Parse(await notReady.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
        Assert.False(checks.GetProperty("queue").GetBoolean());
        Assert.True(checks.GetProperty("statusStore").GetBoolean());
        Assert.True(checks.GetProperty("contentStore").GetBoolean());
        Assert.True(checks.GetProperty("processor").GetBoolean());
    }

    [Fact]
    public async Task A_hanging_dependency_makes_readiness_fail_instead_of_hang()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await DeliveryHostHarness.StartAsync(await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls)));
        using var client = host.Client();
        host.Sender.HangOnReady = true;

        using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
        Assert.False(checks.GetProperty("queue").GetBoolean());
    }

    [Fact]
    public async Task The_drain_timeout_becomes_the_host_shutdown_timeout()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await DeliveryHostHarness.StartAsync(await DeliveryHostHarness.SettingsAsync(relay.Port(RelayEndpointKind.StartTls)));

        Assert.Equal(TimeSpan.FromSeconds(30), host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
    }

    [Theory]
    [InlineData("MailGateway:DeliveryWorker:MaxAutoLockRenewalDuration", "00:05:00", "MaxAutoLockRenewalDuration")]
    [InlineData("MailGateway:DeliveryWorker:Concurrency", "0", "Concurrency")]
    [InlineData("MailGateway:DeliveryWorker:MaxConcurrentCalls", "4", "MailGateway:DeliveryWorker:MaxConcurrentCalls was renamed to MailGateway:DeliveryWorker:Concurrency")]
    [InlineData("MailGateway:DeliveryWorker:DrainTimeout", "02:00:00", "DrainTimeout")]
    [InlineData("MailGateway:ServiceBus:ConnectionString", "", "MailGateway:ServiceBus:FullyQualifiedNamespace")]
    [InlineData("MailGateway:AzureStorage:ConnectionString", "", "MailGateway:AzureStorage:BlobServiceUri")]
    [InlineData("MailGateway:AzureStorage:ContentContainer", "Bad_Name", "ContentContainer")]
    public async Task A_bad_setting_stops_the_host_with_its_name(string key, string value, string expected)
    {
        var settings = await DeliveryHostHarness.SettingsAsync(FreePort.Next());
        settings[key] = value;

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => DeliveryHostHarness.StartAsync(settings));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_fakes_the_real_processor_and_sender_are_registered()
    {
        var settings = await DeliveryHostHarness.SettingsAsync(FreePort.Next());
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddDeliveryWorker();
        await using var app = builder.Build();

        Assert.Equal("ServiceBusDeliveryJobProcessor", app.Services.GetRequiredService<IDeliveryJobProcessor>().GetType().Name);
        Assert.Equal("ServiceBusJobSender", app.Services.GetRequiredService<IServiceBusJobSender>().GetType().Name);
        Assert.IsType<ServiceBusDeliveryQueue>(app.Services.GetRequiredService<MailGateway.Core.Queue.IDeliveryQueue>());
    }
}
