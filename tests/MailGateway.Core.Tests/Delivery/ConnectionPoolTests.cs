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
    public async Task A_connection_is_replaced_after_the_most_messages_it_may_carry()
    {
        await using var relay = await TestRelay.StartAsync();
        var options = Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls));
        options.MaxMessagesPerConnection = 2;
        using var engine = Engine(options);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(DeliveryOutcomeKind.Delivered, (await engine.DeliverAsync(Request(Compose($"m{i}"), $"m{i}"), CancellationToken.None)).Kind);
        }

        Assert.Equal(5, relay.Messages.Count);
        Assert.Equal(3, relay.SessionCount);
    }

    [Fact]
    public async Task Over_the_relays_sending_rate_a_delivery_waits_for_its_turn_before_it_connects()
    {
        await using var relay = await TestRelay.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls));
        options.MaxMessagesPerPeriod = 2;
        options.RateLimitPeriod = TimeSpan.FromMinutes(1);
        using var engine = Engine(options, time);

        // The bucket starts full: a burst of two goes at once.
        Assert.Equal(DeliveryOutcomeKind.Delivered, (await engine.DeliverAsync(Request(Compose("m0"), "m0"), CancellationToken.None)).Kind);
        Assert.Equal(DeliveryOutcomeKind.Delivered, (await engine.DeliverAsync(Request(Compose("m1"), "m1"), CancellationToken.None)).Kind);
        Assert.Equal(0, engine.RateLimitWaits);

        // The third waits for a token (half a minute at 2 a minute), without a connection and without a refusal.
        var third = engine.DeliverAsync(Request(Compose("m2"), "m2"), CancellationToken.None);
        await Poll.UntilAsync(() => engine.RateLimitWaits == 1);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(third.IsCompleted);
        Assert.Equal(2, relay.Messages.Count);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(DeliveryOutcomeKind.Delivered, (await third).Kind);
        Assert.Equal(3, relay.Messages.Count);

        // A waiting delivery that is cancelled is deferred, never sent.
        using var cancel = new CancellationTokenSource();
        var fourth = engine.DeliverAsync(Request(Compose("m3"), "m3"), cancel.Token);
        await Poll.UntilAsync(() => engine.RateLimitWaits == 2);
        await cancel.CancelAsync();
        Assert.Equal(DeliveryOutcomeKind.Deferred, (await fourth).Kind);
        Assert.Equal(3, relay.Messages.Count);
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
