using System.Net;
using System.Text.Json;
using MailGateway.Testing;

namespace MailGateway.Standalone.Tests;

/// <summary>The event feed and a message's events over HTTP, against a real relay.</summary>
public sealed class EventsApiTests : IAsyncLifetime
{
    private TestRelay _relay = null!;
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync();
        _host = await GatewayHost.StartAsync(_relay);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, string? ContentType)> GetAsync(string path, string key = GatewayHost.AppKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Bearer", key);
        using var response = await _host.Client.SendAsync(request);
        return (response.StatusCode, await GatewayHost.ReadAsync(response), response.Content.Headers.ContentType?.MediaType);
    }

    private static List<(string Type, string? Recipient)> Types(JsonElement page) =>
        [.. page.GetProperty("events").EnumerateArray().Select(e => (e.GetProperty("type").GetString()!, e.TryGetProperty("recipient", out var r) ? r.GetString() : null))];

    [Fact]
    public async Task A_messages_events_show_accept_and_delivery_with_attempt_port_reply_tags_and_metadata()
    {
        var id = await _host.SendAsync(new
        {
            from = "app@example.com",
            to = new[] { "rcpt@example.net" },
            subject = "s",
            text = "t",
            tags = new[] { "welcome" },
            metadata = new Dictionary<string, string> { ["user"] = "42" },
        });
        await _host.WaitForStatusAsync(id, "delivered");

        var (status, page, _) = await GetAsync($"/api/v1/messages/{id}/events");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([("accepted", null), ("delivered", "rcpt@example.net"), ("delivered", null)], Types(page));
        var delivered = page.GetProperty("events")[2];
        Assert.Equal((id, 1), (delivered.GetProperty("messageId").GetString(), delivered.GetProperty("attempt").GetInt32()));
        Assert.Equal(_relay.Port(RelayEndpointKind.StartTls), delivered.GetProperty("port").GetInt32());
        Assert.StartsWith("250", delivered.GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.Equal("welcome", delivered.GetProperty("tags")[0].GetString());
        Assert.Equal("42", delivered.GetProperty("metadata").GetProperty("user").GetString());
        Assert.False(page.GetProperty("hasMore").GetBoolean());
    }

    [Fact]
    public async Task The_feed_pages_in_a_stable_order_filters_by_type_and_shows_a_key_only_its_own_messages()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await _host.SendAsync());
        }

        foreach (var id in ids)
        {
            await _host.WaitForStatusAsync(id, "delivered");
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        while (true)
        {
            var (status, page, _) = await GetAsync("/api/v1/events?limit=2" + (cursor is null ? "" : "&after=" + cursor));
            Assert.Equal(HttpStatusCode.OK, status);
            seen.AddRange(page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetString()!));
            pages++;
            cursor = page.GetProperty("next").GetString();
            if (!page.GetProperty("hasMore").GetBoolean())
            {
                break;
            }
        }

        var (_, accepted, _) = await GetAsync("/api/v1/events?types=accepted");
        var (_, otherFeed, _) = await GetAsync("/api/v1/events", GatewayHost.OtherKey);
        var (otherStatus, _, _) = await GetAsync($"/api/v1/messages/{ids[0]}/events", GatewayHost.OtherKey);
        var (_, afterLast, _) = await GetAsync("/api/v1/events?after=" + cursor);

        Assert.Equal(9, seen.Count);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Equal(seen.Distinct(), seen);
        Assert.Equal(5, pages);
        Assert.Equal(ids, accepted.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("messageId").GetString()));
        Assert.Empty(otherFeed.GetProperty("events").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, otherStatus);
        Assert.Empty(afterLast.GetProperty("events").EnumerateArray());
        Assert.Equal(cursor, afterLast.GetProperty("next").GetString());
    }

    [Theory]
    [InlineData("/api/v1/events?after=abc", "after", "invalid_cursor")]
    [InlineData("/api/v1/events?after=evt_00000000000000ab", "after", "invalid_cursor")]
    [InlineData("/api/v1/events?after=evt_0000000000000001&after=evt_0000000000000002", "after", "repeated_parameter")]
    [InlineData("/api/v1/events?limit=5&limits=5", "limits", "unknown_parameter")]
    [InlineData("/api/v1/events?tyeps=delivered", "tyeps", "unknown_parameter")]
    [InlineData("/api/v1/messages/any/events?after=x&after=y", "after", "repeated_parameter")]
    [InlineData("/api/v1/messages/any/events?cursor=evt_0000000000000001", "cursor", "unknown_parameter")]
    [InlineData("/api/v1/events?types=delivered,opened", "types", "invalid_type")]
    [InlineData("/api/v1/events?limit=0", "limit", "invalid_limit")]
    [InlineData("/api/v1/events?limit=1001", "limit", "invalid_limit")]
    [InlineData("/api/v1/events?limit=-1", "limit", "invalid_limit")]
    [InlineData("/api/v1/events?limit=99999999999999999999", "limit", "invalid_limit")]
    [InlineData("/api/v1/messages/any/events?limit=x", "limit", "invalid_limit")]
    public async Task Bad_paging_input_is_400_problem_json_naming_the_field(string path, string field, string code)
    {
        var (status, body, contentType) = await GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Contains(body.GetProperty("errors").EnumerateArray(), e => e.GetProperty("field").GetString() == field && e.GetProperty("code").GetString() == code);
    }

    [Fact]
    public async Task Without_a_key_it_is_401_and_an_unknown_message_is_404()
    {
        using var anonymous = new HttpClient { BaseAddress = _host.Client.BaseAddress };
        using var feed = await anonymous.GetAsync("/api/v1/events");
        var (missing, _, contentType) = await GetAsync("/api/v1/messages/nope/events");
        var (tooLong, _, _) = await GetAsync("/api/v1/messages/" + new string('a', 100) + "/events");

        Assert.Equal(HttpStatusCode.Unauthorized, feed.StatusCode);
        Assert.Equal("application/problem+json", feed.Content.Headers.ContentType?.MediaType);
        Assert.Equal((HttpStatusCode.NotFound, "application/problem+json"), (missing, contentType));
        Assert.Equal(HttpStatusCode.NotFound, tooLong);
    }
}
