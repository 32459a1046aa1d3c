using System.Globalization;
using MailGateway.Core.Events;
using MailGateway.Core.Webhooks;
using MailGateway.Webhooks;
using MailGateway.Embedded;
using MailGateway.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Standalone.Tests;

/// <summary>Webhooks end to end: the gateway, a real relay and a real Kestrel receiver verifying with the StandardWebhooks package.</summary>
public sealed class WebhookDeliveryTests : IAsyncLifetime
{
    private readonly string _secret = WebhookSignature.NewSecret();
    private TestRelay _relay = null!;

    public async Task InitializeAsync() => _relay = await TestRelay.StartAsync();

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    private Task<GatewayHost> StartGatewayAsync(string url, string? types = null) =>
        GatewayHost.StartAsync(_relay, settings =>
        {
            settings["MailGateway:Webhooks:AllowLoopback"] = "true";
            settings["MailGateway:Webhooks:PollInterval"] = "00:00:00.050";
            settings["MailGateway:Webhooks:RetryScale"] = "0.001"; // 5 ms, 300 ms, 1.8 s, 7.2 s, … instead of 5 s, 5 min, 30 min, 2 h
            settings["MailGateway:Webhooks:Endpoints:0:Url"] = url;
            settings["MailGateway:Webhooks:Endpoints:0:Secret"] = _secret;
            settings["MailGateway:Webhooks:Endpoints:0:KeyId"] = "app";
            if (types is not null)
            {
                settings["MailGateway:Webhooks:Endpoints:0:EventTypes:0"] = types;
            }
        });

    private static Task<WebhookEndpointState> StateAsync(GatewayHost host) =>
        host.Services.GetRequiredService<SqliteWebhookStateStore>().GetOrCreateAsync("endpoint-0", CancellationToken.None);

    [Fact]
    public async Task Delivered_arrives_signed_verifies_with_the_StandardWebhooks_package_and_carries_the_event_id()
    {
        await using var receiver = await WebhookReceiver.StartAsync(_secret);
        await using var gateway = await StartGatewayAsync(new Uri(receiver.BaseAddress, "/hook").ToString());
        using var other = new HttpClient { BaseAddress = gateway.Client.BaseAddress };
        other.DefaultRequestHeaders.Authorization = new("Bearer", GatewayHost.OtherKey);

        var id = await gateway.SendAsync();
        await Poll.UntilAsync(() => receiver.Events().Contains((id, "delivered", null)), () => $"received {receiver.Received.Count}");
        using var otherSend = await other.PostAsync("/api/v1/messages", GatewayHost.Json(new { from = "a@x.other.example", to = new[] { "b@example.net" }, subject = "s", text = "t" }));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, otherSend.StatusCode);

        Assert.Equal([(id, "accepted", null), (id, "delivered", "rcpt@example.net"), (id, "delivered", null)], receiver.Events().Take(3));
        var delivered = receiver.Received.Single(r => r.Body.GetProperty("data").GetProperty("type").GetString() == "delivered" && !r.Body.GetProperty("data").TryGetProperty("recipient", out _));
        Assert.Equal(delivered.Id, delivered.Body.GetProperty("data").GetProperty("id").GetString());
        Assert.True(MessageEventIds.TryParse(delivered.Id, out _));
        Assert.StartsWith("250", delivered.Body.GetProperty("data").GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, receiver.Forged);
        // The endpoint is scoped to the key 'app': the other key's message is not sent to it.
        Assert.All(receiver.Events(), e => Assert.Equal(id, e.MessageId));
    }

    [Fact]
    public async Task A_receiver_that_is_down_then_up_gets_every_event_later_in_order()
    {
        var port = FreePort.Next();
        await using var gateway = await StartGatewayAsync($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/hook");

        var id = await gateway.SendAsync();
        await gateway.WaitForStatusAsync(id, "delivered");
        var failing = await Poll.UntilAsync(() => StateAsync(gateway), s => s.Failures >= 2, s => $"state {s}");
        Assert.Null(failing.LastStatus);
        Assert.NotNull(failing.LastError);
        await using var receiver = await WebhookReceiver.StartAsync(_secret, port);
        await Poll.UntilAsync(() => receiver.Events().Count >= 3, () => $"received {receiver.Received.Count}");

        Assert.Equal([(id, "accepted", null), (id, "delivered", "rcpt@example.net"), (id, "delivered", null)], receiver.Events());
        var recovered = await Poll.UntilAsync(() => StateAsync(gateway), s => s.Failures == 0, s => $"state {s}");
        Assert.Equal((200, false), (recovered.LastStatus, recovered.Disabled));
    }

    [Fact]
    public async Task A_500_is_retried_with_the_same_webhook_id_until_a_2xx()
    {
        await using var receiver = await WebhookReceiver.StartAsync(_secret);
        var answers = new Queue<int>([500, 503]);
        receiver.Answer = () => answers.Count > 0 ? answers.Dequeue() : 204;
        await using var gateway = await StartGatewayAsync(new Uri(receiver.BaseAddress, "/hook").ToString(), types: "accepted");

        var id = await gateway.SendAsync();
        await Poll.UntilAsync(() => receiver.Received.Count >= 1, () => $"hits {receiver.Hits}");

        Assert.Equal(3, receiver.Hits);
        Assert.Equal([(id, "accepted", null)], receiver.Events());
    }

    [Fact]
    public async Task A_redirect_is_not_followed_and_counts_as_a_failure()
    {
        await using var receiver = await WebhookReceiver.StartAsync(_secret);
        await using var gateway = await StartGatewayAsync(new Uri(receiver.BaseAddress, "/redirect").ToString());

        await gateway.SendAsync();
        var state = await Poll.UntilAsync(() => StateAsync(gateway), s => s.Failures >= 2, s => $"state {s}");

        Assert.Equal(307, state.LastStatus);
        Assert.Contains("redirect", state.LastError, StringComparison.Ordinal);
        Assert.Equal(0, receiver.Hits);
        Assert.True(receiver.RedirectHits >= 2);
        Assert.Equal(0L, state.After);
        var listed = await GatewayHost.ReadAsync(await gateway.Client.GetAsync("/api/v1/webhooks"));
        var hook = Assert.Single(listed.GetProperty("webhooks").EnumerateArray());
        Assert.Equal(("endpoint-0", true, 307), (hook.GetProperty("name").GetString(), hook.GetProperty("enabled").GetBoolean(), hook.GetProperty("lastStatus").GetInt32()));
        Assert.True(hook.TryGetProperty("nextAttemptAt", out _));
        Assert.DoesNotContain("whsec_", listed.ToString(), StringComparison.Ordinal);
        using var other = new HttpClient { BaseAddress = gateway.Client.BaseAddress };
        other.DefaultRequestHeaders.Authorization = new("Bearer", GatewayHost.OtherKey);
        var othersList = await GatewayHost.ReadAsync(await other.GetAsync("/api/v1/webhooks"));
        Assert.Empty(othersList.GetProperty("webhooks").EnumerateArray());
        using var anonymousClient = new HttpClient { BaseAddress = gateway.Client.BaseAddress };
        using var anonymous = await anonymousClient.GetAsync("/api/v1/webhooks");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task A_loopback_address_is_refused_at_connect_unless_allowed()
    {
        await using var receiver = await WebhookReceiver.StartAsync(_secret);
        var data = GatewayHost.NewDataDirectory();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["MailGateway:Storage:DataDirectory"] = data }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddEmbeddedWebhooks().BuildServiceProvider();
        await using var _ = services;
        var sender = services.GetRequiredService<WebhookSender>();
        var endpoint = new WebhookEndpointOptions { Url = new Uri(receiver.BaseAddress, "/hook").ToString(), Secret = _secret };
        var e = new MessageEvent { Sequence = 1, Type = "accepted", Time = DateTimeOffset.UtcNow, MessageId = "m1", Owner = "app" };

        var result = await sender.SendAsync(endpoint, e, CancellationToken.None);

        Assert.False(result.Delivered);
        Assert.Contains("refused addresses", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, receiver.Hits);
    }

    [Theory]
    [InlineData("http://example.com/hook", "plain http")]
    [InlineData("https://10.0.0.5/hook", "is refused")]
    [InlineData("https://169.254.169.254/latest/meta-data", "is refused")]
    [InlineData("https://[fd00:ec2::254]/", "is refused")]
    [InlineData("https://127.0.0.1/hook", "loopback")]
    [InlineData("https://user:pw@example.com/hook", "user info")]
    [InlineData("ftp://example.com/hook", "absolute https URL")]
    [InlineData("/hook", "absolute https URL")]
    public void A_receiver_url_that_is_not_https_to_a_public_address_is_refused(string url, string expected)
    {
        var options = new WebhookOptions();

        Assert.Contains(expected, options.UrlProblem(url), StringComparison.Ordinal);
        Assert.Null(options.UrlProblem("https://hooks.example.com/mail"));
        Assert.Null(new WebhookOptions { AllowPrivateNetworks = true }.UrlProblem("https://10.0.0.5/hook"));
    }

    [Fact]
    public async Task A_bad_webhook_setting_stops_the_host_naming_it()
    {
        var settings = GatewayHost.Settings(null, GatewayHost.NewDataDirectory());
        settings["MailGateway:Webhooks:Endpoints:0:Url"] = "http://example.com/hook";
        settings["MailGateway:Webhooks:Endpoints:0:Secret"] = "not-a-secret";
        settings["MailGateway:Webhooks:Endpoints:0:EventTypes:0"] = "opened";

        var error = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(null, s =>
        {
            foreach (var (k, v) in settings)
            {
                s[k] = v;
            }
        }));

        var text = error.ToString();
        Assert.Contains("Endpoints:0:Url", text, StringComparison.Ordinal);
        Assert.Contains("Endpoints:0:Secret", text, StringComparison.Ordinal);
        Assert.Contains("'opened' is not an event type", text, StringComparison.Ordinal);
    }
}
