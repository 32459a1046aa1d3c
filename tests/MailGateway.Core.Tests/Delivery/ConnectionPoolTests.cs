using System.Diagnostics.Metrics;
using MailGateway.Core.Delivery;
using MailGateway.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using SmtpServer.Protocol;
using static MailGateway.Core.Tests.Delivery.EngineHarness;

namespace MailGateway.Core.Tests.Delivery;

public sealed class ConnectionPoolTests
{
    [Fact]
    public async Task Checks_an_idle_connection_with_NOOP_and_reuses_it()
    {
        await using var relay = await TestRelay.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls));
        options.IdleCheckAfter = TimeSpan.FromSeconds(30);
        options.MaxIdleTime = TimeSpan.FromMinutes(2);
        using var engine = Engine(options, time);

        await engine.DeliverAsync(Request(Compose()), CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(1));
        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(1, relay.SessionCount);
        Assert.Equal(2, relay.Messages.Count);
    }

    [Fact]
    public async Task Replaces_a_connection_idle_longer_than_the_maximum()
    {
        await using var relay = await TestRelay.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls));
        options.MaxIdleTime = TimeSpan.FromMinutes(2);
        using var engine = Engine(options, time);

        await engine.DeliverAsync(Request(Compose()), CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(3));
        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(2, relay.SessionCount);
    }

    [Fact]
    public async Task Disposes_the_connection_after_an_error()
    {
        var refuse = true;
        await using var relay = await TestRelay.StartAsync(new()
        {
            MailReply = _ => Volatile.Read(ref refuse) ? new SmtpResponse(SmtpReplyCode.MailboxNameNotAllowed, "5.7.1 No") : null,
        });
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        Assert.Equal(DeliveryOutcomeKind.Failed, (await engine.DeliverAsync(Request(Compose()), CancellationToken.None)).Kind);
        Volatile.Write(ref refuse, false);
        Assert.Equal(DeliveryOutcomeKind.Delivered, (await engine.DeliverAsync(Request(Compose()), CancellationToken.None)).Kind);

        Assert.Equal(2, relay.SessionCount);
    }

    [Fact]
    public async Task Uses_one_connection_per_concurrent_delivery()
    {
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            engine.DeliverAsync(Request(Compose($"m{i}"), $"m{i}"), CancellationToken.None)));

        Assert.All(outcomes, o => Assert.Equal(DeliveryOutcomeKind.Delivered, o.Kind));
        Assert.Equal(8, relay.Messages.Count);
        Assert.InRange(relay.SessionCount, 1, 8);
    }

    [Fact]
    public async Task Records_a_metric_per_attempt_by_outcome_and_port()
    {
        await using var relay = await TestRelay.StartAsync();
        using var meters = new TestMeterFactory();
        using var collector = new MetricCollector<long>(meters, DeliveryTelemetry.Name, "mailgateway.delivery.attempts");
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)), meters: meters);

        await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        var measurement = Assert.Single(collector.GetMeasurementSnapshot(), m => Equals(m.Tags["server.port"], relay.Port(RelayEndpointKind.StartTls)));
        Assert.Equal("delivered", measurement.Tags["outcome"]);
        Assert.Equal(1, measurement.Value);
    }
}
