using System.Net;
using System.Net.Http.Headers;
using MailGateway.Testing;
using Xunit.Abstractions;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// kill -9 of the standalone host (a child process) while a webhook is on its way, restart on the same data: the
/// webhook of every committed state change still arrives (the events are an outbox in the state change's transaction,
/// the cursor moves only after a 2xx), and a delivery sent again carries the same <c>webhook-id</c> and body.
/// </summary>
public sealed class WebhookCrashTests(ITestOutputHelper output)
{
    private const int Messages = 30;
    private const int AnswerBeforeHold = 10;

    [Fact]
    public async Task Webhooks_of_committed_changes_arrive_after_kill_9_and_restart_with_the_same_webhook_id()
    {
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions { Endpoints = [RelayEndpointKind.PlainOnly] });
        await using var receiver = await WebhookReceiver.StartAsync();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answered = 0;
        var held = new System.Collections.Concurrent.ConcurrentQueue<string>();
        receiver.BeforeAnswer = (id, ct) =>
        {
            if (gate.Task.IsCompleted || Interlocked.Increment(ref answered) <= AnswerBeforeHold)
            {
                return Task.CompletedTask;
            }

            // The receiver has the request but holds its answer until the sender is dead.
            held.Enqueue(id);
            return gate.Task.WaitAsync(ct);
        };
        var data = GatewayHost.NewDataDirectory();
        Directory.CreateDirectory(data);
        var settings = GatewayHost.Settings(relay, data, RelayEndpointKind.PlainOnly);
        settings["urls"] = "http://127.0.0.1:0";
        settings["MailGateway:Webhooks:AllowLoopback"] = "true";
        settings["MailGateway:Webhooks:PollInterval"] = "00:00:00.050";
        settings["MailGateway:Webhooks:Timeout"] = "00:02:00";

        var sent = new List<string>();
        string webhook;
        using (var first = await GatewayProcess.StartAsync(data, settings))
        {
            using var client = Client(first.BaseAddress);
            using var created = await client.PostAsync("/api/v1/webhooks", GatewayHost.Json(new { url = new Uri(receiver.BaseAddress, "/hook").ToString(), eventTypes = new[] { "accepted", "delivered" } }));
            var body = await GatewayHost.ReadAsync(created);
            Assert.True(created.StatusCode == HttpStatusCode.Created, body.ToString());
            webhook = body.GetProperty("id").GetString()!;
            receiver.Trust(body.GetProperty("secret").GetString()!);
            for (var i = 0; i < Messages; i++)
            {
                using var response = await client.PostAsync("/api/v1/messages", GatewayHost.Json(GatewayHost.Message($"crash-{i}")));
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                sent.Add((await GatewayHost.ReadAsync(response)).GetProperty("id").GetString()!);
            }

            // Every state change is committed (each message delivered) and one webhook is held: kill -9.
            await Poll.UntilAsync(async () => await AllDeliveredAsync(client, sent), () => "not every message is delivered", TimeSpan.FromSeconds(60));
            await Poll.UntilAsync(() => !held.IsEmpty, () => $"answered {answered}, output:\n{first.Output}", TimeSpan.FromSeconds(60));
            await first.KillAsync();
        }

        var heldAtKill = held.ToArray();
        var beforeRestart = receiver.Received.Count;
        gate.SetResult();

        using var second = await GatewayProcess.StartAsync(data, settings);
        var expected = sent.SelectMany(id => new[] { (id, "accepted", (string?)null), (id, "delivered", "rcpt@example.net"), (id, "delivered", null) }).ToHashSet();
        await Poll.UntilAsync(() => expected.IsSubsetOf(receiver.Events()), () => $"received {receiver.Events().Distinct().Count()} of {expected.Count}, output:\n{second.Output}", TimeSpan.FromSeconds(90));

        var byId = receiver.Received.GroupBy(r => r.Id).ToList();
        var duplicates = byId.Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        output.WriteLine($"webhook {webhook}: {receiver.Received.Count} deliveries kept ({beforeRestart} before the kill), {byId.Count} distinct, held at the kill {string.Join(", ", heldAtKill)}, duplicates {duplicates.Count}");
        Assert.Equal(expected.Count, byId.Count);
        Assert.Equal(expected, receiver.Events().ToHashSet());
        // The held delivery came again after the restart, under the same webhook-id.
        Assert.All(heldAtKill, id => Assert.Contains(id, byId.Select(g => g.Key)));
        // A webhook-id always names the same event: the same body every time it is sent.
        Assert.All(byId, g =>
        {
            Assert.All(g, r => Assert.Equal(g.Key, r.Body.GetProperty("data").GetProperty("id").GetString()));
            Assert.Single(g.Select(r => r.Body.GetProperty("data").ToString()).Distinct());
        });
        Assert.Equal(0, receiver.Forged);
    }

    private static async Task<bool> AllDeliveredAsync(HttpClient client, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            var status = await GatewayHost.ReadAsync(await client.GetAsync($"/api/v1/messages/{id}"));
            if (status.GetProperty("status").GetString() != "delivered")
            {
                return false;
            }
        }

        return true;
    }

    private static HttpClient Client(Uri baseAddress)
    {
        var client = new HttpClient { BaseAddress = baseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayHost.AppKey);
        return client;
    }
}
