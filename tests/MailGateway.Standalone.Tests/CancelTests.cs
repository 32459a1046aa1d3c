using System.Collections.Concurrent;
using System.Net;
using System.Text;
using MailGateway.Embedded;
using MailGateway.Testing;
using Microsoft.Extensions.DependencyInjection;
using SmtpServer.Protocol;
using Xunit.Abstractions;
using static MailGateway.Standalone.Tests.SendApiTests;

namespace MailGateway.Standalone.Tests;

/// <summary><c>POST /api/v1/messages/{id}/cancel</c> through a real Kestrel, SQLite queue, worker and relay.</summary>
public sealed class CancelTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestRelay _relay = null!;
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            RcptReply = to => to.StartsWith("busy@", StringComparison.Ordinal) ? new SmtpResponse((SmtpReplyCode)451, "4.3.0 Try again later") : null,
        });
        _host = await GatewayHost.StartAsync(_relay, OperatorKeys.Configure);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
    }

    private Task<HttpResponseMessage> CancelAsync(string id, HttpClient? client = null) =>
        (client ?? _host.Client).PostAsync($"/api/v1/messages/{id}/cancel", null);

    private Task<string> SendScheduledAsync() =>
        _host.SendAsync(new { from = "app@example.com", to = new[] { "later@example.net" }, text = "x", sendAt = DateTimeOffset.UtcNow.AddHours(1) });

    [Fact]
    public async Task A_scheduled_message_is_canceled_its_job_removed_and_a_second_cancel_is_409()
    {
        var id = await SendScheduledAsync();

        var response = await CancelAsync(id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await GatewayHost.ReadAsync(response);
        Assert.Equal("canceled", body.GetProperty("status").GetString());
        Assert.Contains("'app'", body.GetProperty("lastReply").GetString(), StringComparison.Ordinal);
        Assert.Equal("canceled", (await _host.StatusAsync(id)).GetProperty("status").GetString());
        Assert.Equal(0, (await _host.Services.GetRequiredService<SqliteDeliveryQueue>().CountAsync(CancellationToken.None)).Jobs);
        var again = await AssertProblemAsync(await CancelAsync(id), HttpStatusCode.Conflict, "not_cancelable");
        Assert.Contains("canceled", again.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var listed = await GatewayHost.ReadAsync(await _host.Client.GetAsync("/api/v1/messages?status=canceled"));
        Assert.Equal(id, listed.GetProperty("items")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_deferred_message_is_canceled_and_not_tried_again()
    {
        var id = await _host.SendAsync(new { from = "app@example.com", to = new[] { "busy@example.net" }, text = "x" });
        await _host.WaitForStatusAsync(id, "deferred");

        Assert.Equal(HttpStatusCode.OK, (await CancelAsync(id)).StatusCode);

        var status = await _host.StatusAsync(id);
        Assert.Equal("canceled", status.GetProperty("status").GetString());
        Assert.Single(status.GetProperty("attempts").EnumerateArray());
        Assert.False(status.TryGetProperty("nextAttemptAt", out var next) && next.ValueKind != System.Text.Json.JsonValueKind.Null);
        Assert.Equal(0, (await _host.Services.GetRequiredService<SqliteDeliveryQueue>().CountAsync(CancellationToken.None)).Jobs);
    }

    [Fact]
    public async Task A_delivered_message_is_409()
    {
        var id = await _host.SendAsync();
        await _host.WaitForStatusAsync(id, "delivered");

        await AssertProblemAsync(await CancelAsync(id), HttpStatusCode.Conflict, "not_cancelable");
        Assert.Equal("delivered", (await _host.StatusAsync(id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Another_keys_message_is_404_unless_the_key_is_admin_and_a_read_only_key_is_403()
    {
        var id = await SendScheduledAsync();
        using var other = OperatorKeys.Client(_host, GatewayHost.OtherKey);
        using var reader = OperatorKeys.Client(_host, OperatorKeys.ReadOnly);
        using var admin = OperatorKeys.Client(_host, OperatorKeys.Admin);

        await AssertProblemAsync(await CancelAsync(id, other), HttpStatusCode.NotFound);
        await AssertProblemAsync(await CancelAsync(id, reader), HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync(await CancelAsync("0123456789abcdef", admin), HttpStatusCode.NotFound);
        await AssertProblemAsync(await CancelAsync(new string('x', 65), admin), HttpStatusCode.NotFound);
        Assert.Equal("scheduled", (await _host.StatusAsync(id)).GetProperty("status").GetString());

        Assert.Equal(HttpStatusCode.OK, (await CancelAsync(id, admin)).StatusCode);
    }

    [Fact]
    public async Task Without_a_key_cancel_is_401()
    {
        using var anonymous = new HttpClient { BaseAddress = _host.Client.BaseAddress };

        await AssertProblemAsync(await anonymous.PostAsync("/api/v1/messages/whatever/cancel", null), HttpStatusCode.Unauthorized);
    }

    /// <summary>
    /// Cancels race the worker: each message is canceled as soon as it is accepted, while the worker leases and sends.
    /// Whoever wins, a canceled message never reaches the relay and a message the relay got is never canceled.
    /// </summary>
    [Fact]
    public async Task A_cancel_racing_the_worker_never_lets_a_canceled_message_be_sent()
    {
        const int count = 40;
        var answers = new ConcurrentDictionary<string, HttpStatusCode>();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var id = await _host.SendAsync(GatewayHost.Message($"race {i}"));
            answers[id] = (await CancelAsync(id)).StatusCode;
        });

        var finals = new Dictionary<string, string>();
        foreach (var id in answers.Keys)
        {
            var status = await Poll.UntilAsync(
                () => _host.StatusAsync(id),
                s => s.GetProperty("status").GetString() is "delivered" or "canceled",
                s => $"message {id} is {s.GetProperty("status")}");
            finals[id] = status.GetProperty("status").GetString()!;
        }

        var delivered = finals.Where(f => f.Value == "delivered").Select(f => f.Key).ToHashSet();
        var relayed = (await _relay.WaitForMessagesAsync(delivered.Count))
            .Select(m => Encoding.ASCII.GetString(m.Data))
            .Select(data => answers.Keys.Single(id => data.Contains($"<{id}@example.com>", StringComparison.OrdinalIgnoreCase)))
            .ToList();
        Assert.Equal(delivered.Count, relayed.Count);
        Assert.Equal(delivered, relayed.ToHashSet());
        Assert.All(answers, a => Assert.Equal(a.Value == HttpStatusCode.OK ? "canceled" : "delivered", finals[a.Key]));
        Assert.All(answers.Values, code => Assert.Contains(code, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
        // A job a worker held when its message was canceled is completed by that worker, a moment later.
        var queue = _host.Services.GetRequiredService<SqliteDeliveryQueue>();
        await Poll.UntilAsync(() => queue.CountAsync(CancellationToken.None), c => c.Jobs == 0, c => $"{c.Jobs} jobs left");

        // The race is only a race if both sides won sometimes; report what happened rather than fail on a fast machine.
        output.WriteLine($"cancel race: {answers.Values.Count(c => c == HttpStatusCode.OK)} canceled, {delivered.Count} delivered");
    }
}
