using System.Net;
using System.Text.Json;
using MailGateway.Testing;
using static MailGateway.Standalone.Tests.SendApiTests;

namespace MailGateway.Standalone.Tests;

/// <summary><c>GET /api/v1/messages</c>: keyset pages, filters, scopes and bad input, through a real Kestrel and SQLite.</summary>
public sealed class MessageListTests : IAsyncLifetime
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

    private async Task<JsonElement> ListAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync("/api/v1/messages" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return await GatewayHost.ReadAsync(response);
    }

    private static List<string> Ids(JsonElement page) => [.. page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];

    [Fact]
    public async Task Pages_are_newest_first_and_the_cursor_walks_every_message_once()
    {
        var sent = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            sent.Add(await _host.SendAsync(GatewayHost.Message($"m{i}")));
        }

        var all = await ListAsync(_host.Client, "?limit=100");
        var walked = new List<string>();
        var pages = 0;
        string? cursor = null;
        do
        {
            var page = await ListAsync(_host.Client, "?limit=2" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            walked.AddRange(Ids(page));
            cursor = page.TryGetProperty("nextCursor", out var next) ? next.GetString() : null;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(Ids(all), walked);
        Assert.Equal(sent.ToHashSet(), walked.ToHashSet());
        Assert.Equal(5, walked.Count);
        var created = all.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("createdAt").GetDateTimeOffset()).ToList();
        Assert.Equal(created.OrderByDescending(c => c), created);
        Assert.False(all.TryGetProperty("nextCursor", out _));
        var first = all.GetProperty("items")[0];
        Assert.Equal("app", first.GetProperty("apiKey").GetString());
        Assert.Equal("app@example.com", first.GetProperty("from").GetString());
        Assert.Equal("rcpt@example.net", first.GetProperty("recipients")[0].GetString());
    }

    [Fact]
    public async Task Filters_by_status_tag_recipient_sender_and_time()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        var scheduled = await _host.SendAsync(new
        {
            from = "app@example.com", to = new[] { "later@example.net" }, text = "x", tags = new[] { "digest" },
            sendAt = DateTimeOffset.UtcNow.AddHours(1),
        });
        var tagged = await _host.SendAsync(new { from = "app@example.com", to = new[] { "Someone@Example.net" }, text = "x", tags = new[] { "welcome" } });
        var plain = await _host.SendAsync(new { from = "app@example.com", to = new[] { "plain@example.net" }, text = "x" });

        Assert.Equal([scheduled], Ids(await ListAsync(_host.Client, "?status=scheduled")));
        Assert.Equal([tagged], Ids(await ListAsync(_host.Client, "?tag=welcome")));
        Assert.Empty(Ids(await ListAsync(_host.Client, "?tag=Welcome")));
        Assert.Equal([tagged], Ids(await ListAsync(_host.Client, "?recipient=someone%40example.NET")));
        var fromApp = Ids(await ListAsync(_host.Client, "?from=APP%40example.com&since=" + Uri.EscapeDataString(before.ToString("O"))));
        Assert.Equal(3, fromApp.Count);
        Assert.Equal(new[] { plain, tagged, scheduled }.ToHashSet(), fromApp.ToHashSet());
        Assert.Empty(Ids(await ListAsync(_host.Client, "?from=nobody%40example.com")));
        Assert.Empty(Ids(await ListAsync(_host.Client, "?until=" + Uri.EscapeDataString(before.ToString("O")))));
        Assert.Equal([scheduled], Ids(await ListAsync(_host.Client, "?status=scheduled&tag=digest&recipient=later%40example.net")));
    }

    [Fact]
    public async Task A_key_lists_its_own_messages_and_an_admin_key_every_keys()
    {
        var mine = await _host.SendAsync();
        using var other = OperatorKeys.Client(_host, GatewayHost.OtherKey);
        var post = await other.PostAsync("/api/v1/messages", GatewayHost.Json(new { from = "x@mail.other.example", to = new[] { "r@example.net" }, text = "x" }));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var theirs = (await GatewayHost.ReadAsync(post)).GetProperty("id").GetString()!;
        using var admin = OperatorKeys.Client(_host, OperatorKeys.Admin);
        using var sender = OperatorKeys.Client(_host, OperatorKeys.SendOnly);

        Assert.Equal([mine], Ids(await ListAsync(_host.Client, "")));
        Assert.Equal([theirs], Ids(await ListAsync(other, "")));
        Assert.Equal(new[] { mine, theirs }.ToHashSet(), Ids(await ListAsync(admin, "")).ToHashSet());
        await AssertProblemAsync(await sender.GetAsync("/api/v1/messages"), HttpStatusCode.Forbidden, "missing_scope");
    }

    [Fact]
    public async Task Every_bad_parameter_is_a_field_error_in_one_400()
    {
        var query = "?status=bogus&tag=" + new string('t', 300) + "&recipient=nobody&from=a%20b%40example.com&since=2026-01-01T00:00:00"
            + "&until=yesterday&cursor=not-a-cursor&limit=101&colour=blue";

        var problem = await AssertProblemAsync(await _host.Client.GetAsync("/api/v1/messages" + query), HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors").EnumerateArray().Select(e => (e.GetProperty("field").GetString(), e.GetProperty("code").GetString())).ToHashSet();
        Assert.Equal(
            new HashSet<(string?, string?)>
            {
                ("status", "invalid_status"), ("tag", "invalid_value"), ("recipient", "invalid_address"), ("from", "invalid_address"),
                ("since", "offset_required"), ("until", "invalid_date_time"), ("cursor", "invalid_cursor"), ("limit", "invalid_limit"),
                ("colour", "unknown_parameter"),
            },
            errors);
    }

    [Theory]
    [InlineData("?limit=0", "limit", "invalid_limit")]
    [InlineData("?limit=-1", "limit", "invalid_limit")]
    [InlineData("?limit=1e2", "limit", "invalid_limit")]
    [InlineData("?limit=1&limit=2", "limit", "repeated_parameter")]
    [InlineData("?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "until", "before_since")]
    [InlineData("?status=", "status", "invalid_status")]
    [InlineData("?cursor=MXwxfA", "cursor", "invalid_cursor")]
    public async Task A_bad_parameter_is_400(string query, string field, string code)
    {
        var problem = await AssertProblemAsync(await _host.Client.GetAsync("/api/v1/messages" + query), HttpStatusCode.BadRequest, code);

        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("field").GetString() == field);
    }

    [Fact]
    public async Task An_offset_with_an_unencoded_plus_is_read_as_the_offset()
    {
        var id = await _host.SendAsync();
        var since = DateTimeOffset.UtcNow.AddHours(-1).ToOffset(TimeSpan.FromHours(1)).ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal([id], Ids(await ListAsync(_host.Client, "?since=" + since)));
    }

    [Fact]
    public async Task Without_a_key_the_list_is_401()
    {
        using var anonymous = new HttpClient { BaseAddress = _host.Client.BaseAddress };

        await AssertProblemAsync(await anonymous.GetAsync("/api/v1/messages"), HttpStatusCode.Unauthorized);
    }
}
