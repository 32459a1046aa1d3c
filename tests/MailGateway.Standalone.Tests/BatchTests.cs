using System.Net;
using System.Text;
using System.Text.Json;
using MailGateway.Testing;
using static MailGateway.Standalone.Tests.SendApiTests;

namespace MailGateway.Standalone.Tests;

/// <summary><c>POST /api/v1/messages/batch</c> through a real Kestrel, SQLite and relay.</summary>
public sealed class BatchTests : IAsyncLifetime
{
    private TestRelay _relay = null!;
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync();
        _host = await GatewayHost.StartAsync(_relay, OperatorKeys.Configure);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
    }

    private async Task<(HttpResponseMessage Response, JsonElement Body)> PostBatchAsync(object body, HttpClient? client = null)
    {
        var response = await (client ?? _host.Client).PostAsync("/api/v1/messages/batch", GatewayHost.Json(body));
        return (response, await GatewayHost.ReadAsync(response));
    }

    private static object Item(object message, string? key = null) => key is null ? new { message } : new { idempotencyKey = key, message };

    [Fact]
    public async Task Each_item_gets_its_own_result_and_the_valid_ones_are_delivered()
    {
        var (response, body) = await PostBatchAsync(new
        {
            messages = new object?[]
            {
                Item(GatewayHost.Message("first", "one@example.net")),
                Item(new { from = "app@example.com", to = new[] { "not-an-address" }, text = "x" }),
                Item(new { from = "app@example.org", to = new[] { "x@example.net" }, text = "x" }),
                null,
                Item(GatewayHost.Message("second", "two@example.net")),
            },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal((2, 3), (body.GetProperty("accepted").GetInt32(), body.GetProperty("refused").GetInt32()));
        var results = body.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2, 3, 4], results.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal([202, 400, 403, 400, 202], results.Select(r => r.GetProperty("status").GetInt32()));
        Assert.Contains(results[1].GetProperty("errors").EnumerateArray(), e => e.GetProperty("field").GetString() == "messages[1].message.to[0].address" && e.GetProperty("code").GetString() == "invalid_address");
        Assert.Equal("sender_not_allowed", results[2].GetProperty("errors")[0].GetProperty("code").GetString());
        Assert.Equal("messages[3].message", results[3].GetProperty("errors")[0].GetProperty("field").GetString());
        var ids = new[] { results[0], results[4] }.Select(r => r.GetProperty("id").GetString()!).ToList();
        Assert.All(new[] { results[0], results[4] }, r => Assert.Equal("queued", r.GetProperty("state").GetString()));
        foreach (var id in ids)
        {
            await _host.WaitForStatusAsync(id, "delivered");
        }

        var relayed = await _relay.WaitForMessagesAsync(2);
        Assert.Equal(2, relayed.Count);
        Assert.All(ids, id => Assert.Contains(relayed, m => Encoding.ASCII.GetString(m.Data).Contains($"<{id}@example.com>", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task An_idempotency_key_per_item_replays_that_item_and_refuses_it_with_another_message()
    {
        var batch = new { messages = new[] { Item(GatewayHost.Message("a"), "key-a"), Item(GatewayHost.Message("b"), "key-b"), Item(GatewayHost.Message("a"), "key-a") } };

        var (_, first) = await PostBatchAsync(batch);
        var (_, again) = await PostBatchAsync(batch);
        var (_, other) = await PostBatchAsync(new { messages = new[] { Item(GatewayHost.Message("changed"), "key-a") } });

        static List<string?> Ids(JsonElement body) => [.. body.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString())];
        var ids = Ids(first);
        Assert.Equal(ids[0], ids[2]);
        Assert.NotEqual(ids[0], ids[1]);
        Assert.Equal(ids, Ids(again));
        Assert.Equal(422, other.GetProperty("results")[0].GetProperty("status").GetInt32());
        Assert.Equal("idempotency_key_reused", other.GetProperty("results")[0].GetProperty("errors")[0].GetProperty("code").GetString());
        await _host.WaitForStatusAsync(ids[0]!, "delivered");
        await _host.WaitForStatusAsync(ids[1]!, "delivered");
        Assert.Equal(2, (await _relay.WaitForMessagesAsync(2)).Count);
    }

    [Fact]
    public async Task Five_hundred_messages_are_accepted_in_one_request_and_five_hundred_and_one_are_refused()
    {
        var sendAt = DateTimeOffset.UtcNow.AddHours(1);
        object Scheduled(int i) => Item(new { from = "app@example.com", to = new[] { $"r{i}@example.net" }, text = "x", sendAt });

        var (ok, body) = await PostBatchAsync(new { messages = Enumerable.Range(0, MessagesApiLimits.MaxBatch).Select(Scheduled).ToArray() });
        var (tooMany, _) = await PostBatchAsync(new { messages = Enumerable.Range(0, MessagesApiLimits.MaxBatch + 1).Select(Scheduled).ToArray() });

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(500, body.GetProperty("accepted").GetInt32());
        Assert.All(body.GetProperty("results").EnumerateArray(), r => Assert.Equal("scheduled", r.GetProperty("state").GetString()));
        var listed = await GatewayHost.ReadAsync(await _host.Client.GetAsync("/api/v1/messages?status=scheduled&limit=100"));
        Assert.Equal(100, listed.GetProperty("items").GetArrayLength());
        await AssertProblemAsync(tooMany, HttpStatusCode.BadRequest, "too_many_messages");
    }

    [Fact]
    public async Task Bad_batches_are_problems()
    {
        using var reader = OperatorKeys.Client(_host, OperatorKeys.ReadOnly);
        using var anonymous = new HttpClient { BaseAddress = _host.Client.BaseAddress };

        await AssertProblemAsync((await PostBatchAsync(new { messages = Array.Empty<object>() })).Response, HttpStatusCode.BadRequest, "required");
        await AssertProblemAsync((await PostBatchAsync(new { })).Response, HttpStatusCode.BadRequest, "required");
        await AssertProblemAsync((await PostBatchAsync(new { messages = new[] { new { mesage = new { } } } })).Response, HttpStatusCode.BadRequest, "invalid_json");
        await AssertProblemAsync(await _host.Client.PostAsync("/api/v1/messages/batch", new StringContent("{\"messages\": [", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "invalid_json");
        await AssertProblemAsync(await _host.Client.PostAsync("/api/v1/messages/batch", new StringContent("x", Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
        var badKey = await PostBatchAsync(new { messages = new[] { Item(GatewayHost.Message(), "bad\u0001key") } });
        Assert.Equal("invalid_idempotency_key", badKey.Body.GetProperty("results")[0].GetProperty("errors")[0].GetProperty("code").GetString());
        await AssertProblemAsync((await PostBatchAsync(new { messages = new[] { Item(GatewayHost.Message()) } }, reader)).Response, HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync((await PostBatchAsync(new { messages = new[] { Item(GatewayHost.Message()) } }, anonymous)).Response, HttpStatusCode.Unauthorized);
    }

    private static class MessagesApiLimits
    {
        public const int MaxBatch = MailGateway.Api.MessagesApi.MaxBatchMessages;
    }
}
