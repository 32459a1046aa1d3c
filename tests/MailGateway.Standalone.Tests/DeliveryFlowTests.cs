using System.Net;
using System.Text;
using MailGateway.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SmtpServer.Protocol;

namespace MailGateway.Standalone.Tests;

/// <summary>Retries, schedules and deadlines end to end, on a fake clock (the relay and HTTP are real).</summary>
public sealed class DeliveryFlowTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private volatile bool _relayDefers;
    private TestRelay _relay = null!;
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            RcptReply = to => _relayDefers || to.StartsWith("slow@", StringComparison.Ordinal)
                ? new SmtpResponse((SmtpReplyCode)451, "4.3.0 Try again later")
                : null,
        });
        _host = await GatewayHost.StartAsync(_relay, services: s => s.AddSingleton<TimeProvider>(_time));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
    }

    private void Tick() => _time.Advance(TimeSpan.FromSeconds(10));

    [Fact]
    public async Task Deferred_by_the_relay_then_delivered_after_it_recovers()
    {
        _relayDefers = true;
        var id = await _host.SendAsync();

        var deferred = await _host.WaitForStatusAsync(id, "deferred");
        Assert.Equal(_time.GetUtcNow().AddMinutes(1), deferred.GetProperty("nextAttemptAt").GetDateTimeOffset());
        Assert.Contains("451", deferred.GetProperty("lastReply").GetString(), StringComparison.Ordinal);
        _relayDefers = false;
        var delivered = await _host.WaitForStatusAsync(id, "delivered", eachPoll: Tick);

        var attempts = delivered.GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal(["deferred", "delivered"], attempts.Select(a => a.GetProperty("outcome").GetString()));
        Assert.All(attempts, a => Assert.Equal(_relay.Port(RelayEndpointKind.StartTls), a.GetProperty("port").GetInt32()));
        var relayed = Assert.Single(await _relay.WaitForMessagesAsync(1));
        Assert.Contains($"Message-ID: <{id}@example.com>", Encoding.ASCII.GetString(relayed.Data), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SendAt_in_the_future_is_scheduled_and_sent_only_when_due()
    {
        var sendAt = _time.GetUtcNow().AddHours(1);
        var (response, body) = await _host.PostAsync(new { from = "app@example.com", to = new[] { "later@example.net" }, subject = "later", text = "x", sendAt });
        var scheduledId = body.GetProperty("id").GetString()!;
        var nowId = await _host.SendAsync(GatewayHost.Message("now"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("scheduled", body.GetProperty("status").GetString());
        await _host.WaitForStatusAsync(nowId, "delivered");
        var scheduled = await _host.StatusAsync(scheduledId);
        Assert.Equal("scheduled", scheduled.GetProperty("status").GetString());
        Assert.Equal(sendAt, scheduled.GetProperty("nextAttemptAt").GetDateTimeOffset());
        Assert.DoesNotContain(_relay.Messages, m => m.Recipients.Contains("later@example.net"));

        _time.Advance(TimeSpan.FromHours(1));
        var delivered = await _host.WaitForStatusAsync(scheduledId, "delivered", eachPoll: Tick);

        Assert.True(delivered.GetProperty("attempts")[0].GetProperty("startedAt").GetDateTimeOffset() >= sendAt);
        Assert.Single(_relay.Messages, m => m.Recipients.Contains("later@example.net"));
    }

    [Fact]
    public async Task A_message_not_delivered_by_its_expiresAt_expires()
    {
        var expiresAt = _time.GetUtcNow().AddMinutes(10);
        var (_, body) = await _host.PostAsync(new { from = "app@example.com", to = new[] { "slow@example.net" }, text = "x", expiresAt });
        var id = body.GetProperty("id").GetString()!;

        await _host.WaitForStatusAsync(id, "deferred");
        var expired = await _host.WaitForStatusAsync(id, "expired", eachPoll: () => _time.Advance(TimeSpan.FromMinutes(1)));

        Assert.True(_time.GetUtcNow() >= expiresAt);
        Assert.Contains("expiresAt", expired.GetProperty("lastReply").GetString(), StringComparison.Ordinal);
        Assert.Empty(_relay.Messages);
    }
}
