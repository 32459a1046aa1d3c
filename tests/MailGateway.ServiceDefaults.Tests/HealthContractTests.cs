using System.Net;
using System.Text.Json;
using MailGateway.ServiceDefaults;
using MailGateway.ServiceDefaults.Health;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailGateway.ServiceDefaults.Tests;

/// <summary>The one health contract, on a real Kestrel with a port whose readiness the test controls.</summary>
public sealed class HealthContractTests
{
    private static async Task<(WebApplication App, HttpClient Client)> StartAsync(FakeQueue queue, Dictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Services.AddSingleton(queue);
        builder.AddServiceDefaults().AddReadinessCheck<FakeQueueCheck>("queue");
        var app = builder.Build();
        app.MapServiceDefaults();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, new HttpClient { BaseAddress = new Uri(address) });
    }

    [Fact]
    public async Task Liveness_answers_alive_without_checking_anything()
    {
        var queue = new FakeQueue { Ready = false };
        var (app, client) = await StartAsync(queue);
        await using var _ = app;

        using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"status\":\"alive\"}", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, queue.Probes);
    }

    [Fact]
    public async Task Readiness_is_200_with_every_check_when_all_answer()
    {
        var (app, client) = await StartAsync(new FakeQueue());
        await using var _ = app;

        using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
        Assert.True(body.RootElement.GetProperty("checks").GetProperty("queue").GetBoolean());
    }

    [Theory]
    [InlineData("not-ready")]
    [InlineData("throws")]
    [InlineData("hangs")]
    public async Task Readiness_is_a_503_problem_naming_the_failing_part(string failure)
    {
        var queue = new FakeQueue { Ready = failure != "not-ready", Throw = failure == "throws", Hang = failure == "hangs" };
        var (app, client) = await StartAsync(queue, new() { ["MailGateway:Health:ProbeTimeout"] = "00:00:00.300" });
        await using var _ = app;

        using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        using var body = JsonDocument.Parse(text);
        Assert.Equal(503, body.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("Not ready", body.RootElement.GetProperty("title").GetString());
        var error = Assert.Single(body.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("queue", error.GetProperty("field").GetString());
        Assert.Equal("unavailable", error.GetProperty("code").GetString());
        Assert.False(body.RootElement.GetProperty("checks").GetProperty("queue").GetBoolean());
        Assert.DoesNotContain("queue on fire", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_probe_timeout_is_refused_at_start_naming_the_setting()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["MailGateway:Health:ProbeTimeout"] = "00:00:00" });
        builder.AddServiceDefaults();
        await using var app = builder.Build();
        var error = new StringWriter();

        Assert.False(MailGateway.Core.Hosting.StartupValidation.TryValidate(app.Services, error));
        Assert.Contains("MailGateway:Health:ProbeTimeout", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Stands for a port's check (each port check is this class over the port's IsReadyAsync).</summary>
    internal sealed class FakeQueueCheck(FakeQueue queue) : ProbeHealthCheck
    {
        protected override Task<bool> ProbeAsync(CancellationToken cancellationToken) => queue.IsReadyAsync(cancellationToken);
    }

    internal sealed class FakeQueue
    {
        private int _probes;

        public bool Ready { get; init; } = true;

        public bool Throw { get; init; }

        public bool Hang { get; init; }

        public int Probes => Volatile.Read(ref _probes);

        public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _probes);
            if (Throw)
            {
                throw new InvalidOperationException("queue on fire");
            }

            if (Hang)
            {
                // Until the health service gives up on the probe (its timeout cancels the token).
                await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, cancellationToken);
            }

            return Ready;
        }
    }
}
