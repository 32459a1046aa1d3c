using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Functions.Tests;

/// <summary>
/// The Azure host serves one message's events from the Table event log exactly as the standalone host's endpoint does
/// (same answers for the same requests, bad input included), and the feed across messages from the Table event feed
/// with the same parameters, problems, scopes, rate limits and 503; the webhook routes answer from the Table webhook
/// store as the standalone host's do, through the same guard as every other trigger (nosniff, the rate limiter).
/// </summary>
public sealed class FunctionsEventsTests
{
    private const string Valid = """{"from":{"address":"app@example.com"},"to":[{"address":"b@example.net"}],"subject":"Hi","text":"Hello","tags":["welcome"]}""";
    private const string SendOnlyKey = "secret-key-send-only";

    private static void AssertSame((Answer Standalone, Answer Functions) answers, int expectedStatus)
    {
        Assert.Equal(expectedStatus, answers.Functions.Status);
        Assert.Equal(answers.Standalone with { Id = null }, answers.Functions with { Id = null });
    }

    private static async Task<(Answer Standalone, Answer Functions)> BothAsync(ApiHarness api, string path, string key = ApiHarness.Key1) =>
        (await api.ViaStandaloneAsync(HttpMethod.Get, path, headers: ApiHarness.Bearer(key)), await api.ViaFunctionsAsync(HttpMethod.Get, path, headers: ApiHarness.Bearer(key)));

    private static Task<ApiHarness> StartAsync() => ApiHarness.StartAsync(new Dictionary<string, string?>
    {
        ["MailGateway:Api:Keys:2:Id"] = "key-send",
        ["MailGateway:Api:Keys:2:Sha256"] = ApiHarness.Sha256(SendOnlyKey),
        ["MailGateway:Api:Keys:2:AllowedSenderDomains:0"] = "example.com",
        ["MailGateway:Api:Keys:2:Scopes:0"] = "send",
    });

    [Fact]
    public async Task A_messages_events_are_served_as_on_the_standalone_host_in_order_with_keyset_pages()
    {
        await using var api = await StartAsync();
        var sent = await api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/messages", Valid, headers: ApiHarness.Bearer(ApiHarness.Key1));
        Assert.Equal(202, sent.Status);
        var id = sent.Id!;
        Assert.Equal(200, (await api.ViaFunctionsAsync(HttpMethod.Post, $"/api/v1/messages/{id}/cancel", headers: ApiHarness.Bearer(ApiHarness.Key1))).Status);

        var all = await BothAsync(api, $"/api/v1/messages/{id}/events");
        AssertSame(all, 200);
        using var page = JsonDocument.Parse(all.Functions.Body);
        var events = page.RootElement.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(["accepted", "canceled"], events.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(["evt_0000000000000001", "evt_0000000000000002"], events.Select(e => e.GetProperty("id").GetString()));
        Assert.All(events, e => Assert.Equal(id, e.GetProperty("messageId").GetString()));
        Assert.Equal("welcome", events[0].GetProperty("tags")[0].GetString());
        Assert.False(page.RootElement.GetProperty("hasMore").GetBoolean());
        Assert.Equal("evt_0000000000000002", page.RootElement.GetProperty("next").GetString());

        var first = await BothAsync(api, $"/api/v1/messages/{id}/events?limit=1");
        AssertSame(first, 200);
        using (var one = JsonDocument.Parse(first.Functions.Body))
        {
            Assert.True(one.RootElement.GetProperty("hasMore").GetBoolean());
            Assert.Equal("evt_0000000000000001", one.RootElement.GetProperty("next").GetString());
        }

        var rest = await BothAsync(api, $"/api/v1/messages/{id}/events?after=evt_0000000000000001&limit=1");
        AssertSame(rest, 200);
        Assert.Contains("\"type\":\"canceled\"", rest.Functions.Body, StringComparison.Ordinal);
        var typed = await BothAsync(api, $"/api/v1/messages/{id}/events?types=canceled,expired");
        AssertSame(typed, 200);
        using var canceled = JsonDocument.Parse(typed.Functions.Body);
        Assert.Equal("canceled", Assert.Single(canceled.RootElement.GetProperty("events").EnumerateArray().ToList()).GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("?after=evt_12", "invalid_cursor")]
    [InlineData("?after=' or 1 eq 1", "invalid_cursor")]
    [InlineData("?limit=0", "invalid_limit")]
    [InlineData("?limit=1001", "invalid_limit")]
    [InlineData("?limit=ten", "invalid_limit")]
    [InlineData("?types=accepted,nope", "invalid_type")]
    [InlineData("?state=queued", null)]
    public async Task Bad_cursors_limits_types_and_parameters_are_the_same_400_problem(string query, string? code)
    {
        await using var api = await StartAsync();
        var sent = await api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/messages", Valid, headers: ApiHarness.Bearer(ApiHarness.Key1));

        var answers = await BothAsync(api, $"/api/v1/messages/{sent.Id}/events{query}");

        AssertSame(answers, 400);
        Assert.Equal("application/problem+json", answers.Functions.ContentType);
        if (code is not null)
        {
            Assert.Contains($"\"{code}\"", answers.Functions.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Another_keys_message_an_unknown_id_no_key_and_a_key_without_read_get_the_same_problems()
    {
        await using var api = await StartAsync();
        var sent = await api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/messages", Valid, headers: ApiHarness.Bearer(ApiHarness.Key1));
        var path = $"/api/v1/messages/{sent.Id}/events";

        AssertSame(await BothAsync(api, path, ApiHarness.Key2), 404);
        AssertSame(await BothAsync(api, "/api/v1/messages/m_unknown/events"), 404);
        AssertSame(await BothAsync(api, "/api/v1/messages/" + new string('a', 65) + "/events"), 404);
        AssertSame(await BothAsync(api, "/api/v1/messages/x'%20or%20PartitionKey%20ne%20'/events"), 404);
        AssertSame(await BothAsync(api, path, SendOnlyKey), 403);
        AssertSame(await BothAsync(api, path, "wrong-key"), 401);
        Assert.Equal("nosniff", (await api.ViaFunctionsAsync(HttpMethod.Get, path, headers: ApiHarness.Bearer("wrong-key"))).ContentTypeOptions);
    }

    [Fact]
    public async Task The_events_route_is_rate_limited_per_key_with_the_same_429_as_the_standalone_host()
    {
        await using var api = await ApiHarness.StartAsync(new Dictionary<string, string?>
        {
            ["MailGateway:RateLimits:PerKeyBurst"] = "3",
            ["MailGateway:RateLimits:PerKeyRate"] = "1",
            ["MailGateway:RateLimits:PerKeyPeriod"] = "01:00:00",
        });
        var sent = await api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/messages", Valid, headers: ApiHarness.Bearer(ApiHarness.Key1));
        var path = $"/api/v1/messages/{sent.Id}/events";
        Assert.Equal(200, (await api.ViaFunctionsAsync(HttpMethod.Get, path, headers: ApiHarness.Bearer(ApiHarness.Key1))).Status);
        Assert.Equal(200, (await api.ViaFunctionsAsync(HttpMethod.Get, path, headers: ApiHarness.Bearer(ApiHarness.Key1))).Status);

        var functions = await api.ViaFunctionsAsync(HttpMethod.Get, path, headers: ApiHarness.Bearer(ApiHarness.Key1));
        var standalone = await api.ViaStandaloneAsync(HttpMethod.Get, path, headers: ApiHarness.Bearer(ApiHarness.Key1));

        Assert.Equal(429, functions.Status);
        Assert.Equal(standalone, functions);
        Assert.Equal("application/problem+json", functions.ContentType);
        Assert.NotNull(functions.RetryAfter);
    }

    [Fact]
    public async Task The_webhook_routes_answer_as_on_the_standalone_host_from_the_table_store()
    {
        await using var api = await StartAsync();
        var key1 = ApiHarness.Bearer(ApiHarness.Key1);
        const string Create = """{"url":"https://hooks.example.com/mail","eventTypes":["delivered","bounced"]}""";

        var created = await api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/webhooks", Create, headers: key1);
        Assert.Equal(201, created.Status);
        var id = created.Id!;
        Assert.StartsWith("wh_", id, StringComparison.Ordinal);
        Assert.Equal("/api/v1/webhooks/<id>", created.Location);
        using (var body = JsonDocument.Parse(created.Body))
        {
            Assert.StartsWith("whsec_", body.RootElement.GetProperty("secret").GetString(), StringComparison.Ordinal);
            Assert.Equal(["delivered", "bounced"], body.RootElement.GetProperty("eventTypes").EnumerateArray().Select(t => t.GetString()));
            Assert.StartsWith("evt_", body.RootElement.GetProperty("cursor").GetString(), StringComparison.Ordinal);
        }

        // The same store answers both ways: list, one, another key's view, an update, a bad create, a rotation, a delete.
        var listed = await BothAsync(api, "/api/v1/webhooks");
        AssertSame(listed, 200);
        Assert.Contains(id, listed.Functions.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("whsec_", listed.Functions.Body, StringComparison.Ordinal);
        AssertSame(await BothAsync(api, $"/api/v1/webhooks/{id}"), 200);
        AssertSame(await BothAsync(api, $"/api/v1/webhooks/{id}", ApiHarness.Key2), 404);
        var disable = await api.ViaFunctionsAsync(HttpMethod.Patch, $"/api/v1/webhooks/{id}", """{"enabled":false}""", headers: key1);
        Assert.Equal(200, disable.Status);
        Assert.Contains("\"enabled\":false", disable.Body, StringComparison.Ordinal);
        var badBody = """{"url":"http://10.0.0.5/hook","eventTypes":["opened"]}""";
        var bad = (await api.ViaStandaloneAsync(HttpMethod.Post, "/api/v1/webhooks", badBody, headers: key1), await api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/webhooks", badBody, headers: key1));
        AssertSame(bad, 400);
        Assert.Equal("application/problem+json", bad.Item2.ContentType);
        Assert.Contains("invalid_url", bad.Item2.Body, StringComparison.Ordinal);
        Assert.Contains("invalid_type", bad.Item2.Body, StringComparison.Ordinal);
        var rotated = await api.ViaFunctionsAsync(HttpMethod.Post, $"/api/v1/webhooks/{id}/rotate-secret", headers: key1);
        Assert.Equal(200, rotated.Status);
        Assert.Contains("whsec_", rotated.Body, StringComparison.Ordinal);
        Assert.Equal(204, (await api.ViaFunctionsAsync(HttpMethod.Delete, $"/api/v1/webhooks/{id}", headers: key1)).Status);
        AssertSame(await BothAsync(api, $"/api/v1/webhooks/{id}"), 404);
        Assert.Equal("nosniff", (await api.ViaFunctionsAsync(HttpMethod.Get, "/api/v1/webhooks", headers: key1)).ContentTypeOptions);
    }

    private static Task<ApiHarness> StartFeedAsync(IReadOnlyDictionary<string, string?>? more = null, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configure = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["MailGateway:Api:Keys:2:Id"] = "key-send",
            ["MailGateway:Api:Keys:2:Sha256"] = ApiHarness.Sha256(SendOnlyKey),
            ["MailGateway:Api:Keys:2:AllowedSenderDomains:0"] = "example.com",
            ["MailGateway:Api:Keys:2:Scopes:0"] = "send",
            ["MailGateway:AzureStorage:EventFeedSettle"] = "00:00:02",
        };
        foreach (var (name, value) in more ?? new Dictionary<string, string?>())
        {
            settings[name] = value;
        }

        return ApiHarness.StartAsync(settings, configure);
    }

    /// <summary>Polls the feed (as an application does) until it holds <paramref name="count"/> events.</summary>
    private static Task<List<JsonElement>> FeedUntilAsync(ApiHarness api, int count, string query = "") =>
        MailGateway.Testing.Poll.UntilAsync(
            async () =>
            {
                var answer = await api.ViaFunctionsAsync(HttpMethod.Get, "/api/v1/events" + query, headers: ApiHarness.Bearer(ApiHarness.Key1));
                Assert.Equal(200, answer.Status);
                using var page = JsonDocument.Parse(answer.Body);
                return page.RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone()).ToList();
            },
            events => events.Count >= count,
            events => $"the feed holds {events.Count} of {count} events");

    [Fact]
    public async Task The_feed_across_messages_is_served_as_on_the_standalone_host_in_time_order_with_keyset_pages()
    {
        await using var api = await StartFeedAsync();
        var first = (await api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/messages", Valid, headers: ApiHarness.Bearer(ApiHarness.Key1))).Id!;
        var second = (await api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/messages", Valid, headers: ApiHarness.Bearer(ApiHarness.Key1))).Id!;
        Assert.Equal(200, (await api.ViaFunctionsAsync(HttpMethod.Post, $"/api/v1/messages/{first}/cancel", headers: ApiHarness.Bearer(ApiHarness.Key1))).Status);
        await api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/messages", Valid.Replace("example.com", "example.org", StringComparison.Ordinal), headers: ApiHarness.Bearer(ApiHarness.Key2));

        var events = await FeedUntilAsync(api, 3);
        Assert.Equal([(first, "accepted"), (second, "accepted"), (first, "canceled")],
            events.Select(e => (e.GetProperty("messageId").GetString(), e.GetProperty("type").GetString())));
        Assert.Equal("welcome", events[0].GetProperty("tags")[0].GetString());
        var ids = events.Select(e => e.GetProperty("id").GetString()!).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);

        var all = await BothAsync(api, "/api/v1/events");
        AssertSame(all, 200);
        using (var page = JsonDocument.Parse(all.Functions.Body))
        {
            Assert.False(page.RootElement.GetProperty("hasMore").GetBoolean());
            Assert.Equal(ids[^1], page.RootElement.GetProperty("next").GetString());
        }

        // Pages of one, following the cursor; an empty page keeps the cursor.
        var followed = new List<string>();
        string? after = null;
        for (var i = 0; i < 10; i++)
        {
            var answers = await BothAsync(api, "/api/v1/events?limit=1" + (after is null ? "" : "&after=" + after));
            AssertSame(answers, 200);
            using var page = JsonDocument.Parse(answers.Functions.Body);
            var one = page.RootElement.GetProperty("events").EnumerateArray().ToList();
            if (one.Count == 0)
            {
                Assert.Equal(after, page.RootElement.GetProperty("next").GetString());
                break;
            }

            followed.Add(one[0].GetProperty("id").GetString()!);
            after = page.RootElement.GetProperty("next").GetString();
        }

        Assert.Equal(ids, followed);
        var typed = await BothAsync(api, "/api/v1/events?types=canceled,expired");
        AssertSame(typed, 200);
        using var canceled = JsonDocument.Parse(typed.Functions.Body);
        Assert.Equal(first, Assert.Single(canceled.RootElement.GetProperty("events").EnumerateArray().ToList()).GetProperty("messageId").GetString());

        // The other key sees its own message only.
        using var other = JsonDocument.Parse((await api.ViaFunctionsAsync(HttpMethod.Get, "/api/v1/events", headers: ApiHarness.Bearer(ApiHarness.Key2))).Body);
        Assert.DoesNotContain(other.RootElement.GetProperty("events").EnumerateArray(), e => e.GetProperty("messageId").GetString() == first || e.GetProperty("messageId").GetString() == second);
    }

    [Theory]
    [InlineData("?after=evt_0000000000000001", "invalid_cursor")]
    [InlineData("?after=evt_12", "invalid_cursor")]
    [InlineData("?after=' or 1 eq 1", "invalid_cursor")]
    [InlineData("?after=evt_0639000000000000000_x'%20or%20Owner%20ne%20'_000000000001", "invalid_cursor")]
    [InlineData("?limit=0", "invalid_limit")]
    [InlineData("?limit=1001", "invalid_limit")]
    [InlineData("?limit=-1", "invalid_limit")]
    [InlineData("?types=accepted,nope", "invalid_type")]
    [InlineData("?after=&after=", "repeated_parameter")]
    [InlineData("?limit=1&limit=2", "repeated_parameter")]
    [InlineData("?state=queued", "unknown_parameter")]
    public async Task Bad_feed_parameters_are_the_same_400_problem(string query, string code)
    {
        await using var api = await StartFeedAsync();

        var answers = await BothAsync(api, "/api/v1/events" + query);

        AssertSame(answers, 400);
        Assert.Equal("application/problem+json", answers.Functions.ContentType);
        Assert.Contains($"\"{code}\"", answers.Functions.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_feed_without_a_key_or_without_read_and_over_the_rate_limit_gets_the_same_problems()
    {
        await using var api = await StartFeedAsync(new Dictionary<string, string?>
        {
            ["MailGateway:RateLimits:PerKeyBurst"] = "3",
            ["MailGateway:RateLimits:PerKeyRate"] = "1",
            ["MailGateway:RateLimits:PerKeyPeriod"] = "01:00:00",
        });
        AssertSame(await BothAsync(api, "/api/v1/events", "wrong-key"), 401);
        AssertSame(await BothAsync(api, "/api/v1/events", SendOnlyKey), 403);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, (await api.ViaFunctionsAsync(HttpMethod.Get, "/api/v1/events", headers: ApiHarness.Bearer(ApiHarness.Key1))).Status);
        }

        var functions = await api.ViaFunctionsAsync(HttpMethod.Get, "/api/v1/events", headers: ApiHarness.Bearer(ApiHarness.Key1));
        var standalone = await api.ViaStandaloneAsync(HttpMethod.Get, "/api/v1/events", headers: ApiHarness.Bearer(ApiHarness.Key1));
        Assert.Equal(429, functions.Status);
        Assert.Equal(standalone, functions);
        Assert.NotNull(functions.RetryAfter);
    }

    [Fact]
    public async Task A_table_service_that_does_not_answer_is_503_with_retry_after_on_the_feed()
    {
        await using var api = await StartFeedAsync(configure: services =>
            services.AddSingleton<MailGateway.Core.Events.IMessageEventStore>(Unreachable()));

        var answers = await BothAsync(api, "/api/v1/events");

        AssertSame(answers, 503);
        Assert.Equal("application/problem+json", answers.Functions.ContentType);
        Assert.NotNull(answers.Functions.RetryAfter);
    }

    /// <summary>A Table event store on a loopback port nobody listens on, without SDK retries.</summary>
    private static MailGateway.AzureAdapters.Status.TableMessageEventStore Unreachable()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var port = ((System.Net.IPEndPoint)socket.LocalEndPoint!).Port;
        var options = new Azure.Data.Tables.TableClientOptions();
        options.Retry.MaxRetries = 0;
        var service = new Azure.Data.Tables.TableServiceClient(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
            options);
        return new MailGateway.AzureAdapters.Status.TableMessageEventStore(service, Microsoft.Extensions.Options.Options.Create(new MailGateway.AzureAdapters.Storage.AzureStorageOptions()));
    }
}
