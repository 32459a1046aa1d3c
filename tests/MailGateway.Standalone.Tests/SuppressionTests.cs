using System.Net;
using System.Text.Json;
using MailGateway.Testing;
using SmtpServer.Protocol;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// The suppression list through the real host: a suppressed recipient is never sent to (the test relay counts its
/// connections), a 5.1.x refusal at RCPT suppresses, and the API keeps keys apart and refuses bad input with problem+json.
/// </summary>
public sealed class SuppressionTests
{
    private const string Path = "/api/v1/suppressions";

    [Fact]
    public async Task A_message_whose_recipients_are_all_suppressed_ends_suppressed_without_a_connection_to_the_relay()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);
        using (var added = await host.Client.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "Blocked@Example.net" } })))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
            var entry = (await GatewayHost.ReadAsync(added)).GetProperty("suppressions")[0];
            Assert.Equal("blocked@example.net", entry.GetProperty("address").GetString());
            Assert.Equal("manual", entry.GetProperty("reason").GetString());
            Assert.Equal("app", entry.GetProperty("apiKey").GetString());
        }

        var id = await host.SendAsync(GatewayHost.Message(to: "blocked@example.net"));
        var status = await host.WaitForStatusAsync(id, "suppressed");

        Assert.Equal(0, relay.SessionCount);
        var recipient = Assert.Single(status.GetProperty("recipients").EnumerateArray());
        Assert.Equal("suppressed", recipient.GetProperty("status").GetString());
        var attempt = Assert.Single(status.GetProperty("attempts").EnumerateArray());
        Assert.False(attempt.TryGetProperty("port", out _));
        var events = await EventsAsync(host, id);
        Assert.Contains(events, e => e.Type == "suppressed" && e.Recipient == "blocked@example.net");
        Assert.Contains(events, e => e.Type == "suppressed" && e.Recipient is null);

        using var list = await host.Client.GetAsync($"/api/v1/messages?status=suppressed");
        Assert.Equal(id, Assert.Single((await GatewayHost.ReadAsync(list)).GetProperty("items").EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Only_the_suppressed_recipient_is_left_out_the_others_are_delivered()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);
        (await host.Client.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "blocked@example.net" } }))).Dispose();

        var id = await host.SendAsync(new { from = "app@example.com", to = new[] { "ok@example.net", "BLOCKED@example.net" }, text = "x" });
        var status = await host.WaitForStatusAsync(id, "delivered");

        var relayed = Assert.Single(relay.Messages);
        Assert.Equal(["ok@example.net"], relayed.Recipients);
        var states = status.GetProperty("recipients").EnumerateArray().ToDictionary(r => r.GetProperty("address").GetString()!, r => r.GetProperty("status").GetString());
        Assert.Equal("delivered", states["ok@example.net"]);
        Assert.Equal("suppressed", states["BLOCKED@example.net"]);
    }

    [Fact]
    public async Task A_5_1_1_at_RCPT_suppresses_the_address_and_the_next_message_to_it_never_reaches_the_relay()
    {
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            RcptReply = to => to == "gone@example.net" ? new SmtpResponse(SmtpReplyCode.MailboxUnavailable, "5.1.1 No such user") : null,
        });
        await using var host = await GatewayHost.StartAsync(relay);

        var first = await host.SendAsync(GatewayHost.Message(to: "gone@example.net"));
        await host.WaitForStatusAsync(first, "failed");
        var entry = await Poll.UntilAsync(
            async () => await GatewayHost.ReadAsync(await host.Client.GetAsync($"{Path}?address=gone@example.net")),
            body => body.GetProperty("suppressions").GetArrayLength() == 1);
        var suppressed = entry.GetProperty("suppressions")[0];
        Assert.Equal("hard_bounce", suppressed.GetProperty("reason").GetString());
        Assert.Equal(first, suppressed.GetProperty("messageId").GetString());
        Assert.Contains("5.1.1", suppressed.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var sessions = relay.SessionCount;

        var second = await host.SendAsync(GatewayHost.Message(to: "gone@example.net"));
        await host.WaitForStatusAsync(second, "suppressed");
        Assert.Equal(sessions, relay.SessionCount);

        // Removed by hand: the address is sent to again.
        using (var removed = await host.Client.DeleteAsync($"{Path}/Gone@example.net"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        var third = await host.SendAsync(GatewayHost.Message(to: "gone@example.net"));
        await host.WaitForStatusAsync(third, "failed");
        Assert.True(relay.SessionCount > sessions);
    }

    [Fact]
    public async Task Keys_see_only_their_own_entries_and_an_admin_sees_every_key()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, OperatorKeys.Configure);
        using var other = OperatorKeys.Client(host, GatewayHost.OtherKey);
        using var admin = OperatorKeys.Client(host, OperatorKeys.Admin);
        using var reader = OperatorKeys.Client(host, OperatorKeys.ReadOnly);
        using var sender = OperatorKeys.Client(host, OperatorKeys.SendOnly);
        (await host.Client.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "app-only@example.net" } }))).Dispose();
        (await other.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "other-only@example.net" } }))).Dispose();

        Assert.Equal(["app-only@example.net"], await AddressesAsync(host.Client, Path));
        Assert.Equal(["other-only@example.net"], await AddressesAsync(other, Path));
        Assert.Equal(["app-only@example.net", "other-only@example.net"], await AddressesAsync(admin, Path));
        Assert.Equal(["other-only@example.net"], await AddressesAsync(admin, $"{Path}?apiKey=other"));

        // Another key's list: invisible, and neither removable nor writable without admin.
        await AssertProblemAsync(await other.GetAsync($"{Path}?apiKey=app"), HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync(await other.DeleteAsync($"{Path}/app-only@example.net"), HttpStatusCode.NotFound, null);
        await AssertProblemAsync(await other.DeleteAsync($"{Path}/app-only@example.net?apiKey=app"), HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync(await other.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "x@example.net" }, apiKey = "app" })), HttpStatusCode.Forbidden, "missing_scope");

        // Scopes: read lists, send (or admin) writes.
        await AssertProblemAsync(await sender.GetAsync(Path), HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync(await reader.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "x@example.net" } })), HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync(await reader.DeleteAsync($"{Path}/x@example.net"), HttpStatusCode.Forbidden, "missing_scope");
        using (var added = await sender.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "by-sender@example.net" } })))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        using (var byAdmin = await admin.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "for-app@example.net" }, apiKey = "app" })))
        {
            Assert.Equal(HttpStatusCode.OK, byAdmin.StatusCode);
        }

        Assert.Contains("for-app@example.net", await AddressesAsync(host.Client, Path));
        using (var removed = await admin.DeleteAsync($"{Path}/for-app@example.net?apiKey=app"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        Assert.DoesNotContain("for-app@example.net", await AddressesAsync(host.Client, Path));
    }

    [Fact]
    public async Task Bad_input_gets_problem_json_with_every_problem()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);
        var client = host.Client;

        var huge = Enumerable.Range(0, 1001).Select(i => $"a{i}@example.net").ToArray();
        await AssertProblemAsync(await client.PostAsync(Path, GatewayHost.Json(new { addresses = huge })), HttpStatusCode.BadRequest, "too_many_addresses");
        await AssertProblemAsync(await client.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "no at sign", "a@b@c", "" } })), HttpStatusCode.BadRequest, "invalid_address");
        await AssertProblemAsync(await client.PostAsync(Path, GatewayHost.Json(new { addresses = Array.Empty<string>() })), HttpStatusCode.BadRequest, "required");
        await AssertProblemAsync(await client.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "a@example.net" }, colour = "red" })), HttpStatusCode.BadRequest, "invalid_json");
        await AssertProblemAsync(await client.PostAsync(Path, new StringContent("{\"addresses\": [\"a@example.net\"], \"expiresAt\": \"2099-01-01T00:00:00\"}", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "offset_required");
        await AssertProblemAsync(await client.PostAsync(Path, GatewayHost.Json(new { addresses = new[] { "a@example.net" }, expiresAt = "2001-01-01T00:00:00Z" })), HttpStatusCode.BadRequest, "in_the_past");
        await AssertProblemAsync(await client.PostAsync(Path, new StringContent("{\"addresses\": [" + string.Join(",", Enumerable.Repeat("\"" + new string('a', 1000) + "@example.net\"", 600)) + "]}", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.RequestEntityTooLarge, null);
        await AssertProblemAsync(await client.PostAsync(Path, new StringContent("a@example.net")), HttpStatusCode.UnsupportedMediaType, null);
        await AssertProblemAsync(await client.GetAsync($"{Path}?limit=100000"), HttpStatusCode.BadRequest, "invalid_limit");
        await AssertProblemAsync(await client.GetAsync($"{Path}?cursor=%00%01"), HttpStatusCode.BadRequest, "invalid_cursor");
        await AssertProblemAsync(await client.GetAsync($"{Path}?address=x&address=y"), HttpStatusCode.BadRequest, "repeated_parameter");
        await AssertProblemAsync(await client.GetAsync($"{Path}?address=" + new string('a', 300) + "@example.net"), HttpStatusCode.BadRequest, null);
        await AssertProblemAsync(await client.DeleteAsync($"{Path}/not-an-address"), HttpStatusCode.BadRequest, "invalid_address");
        using var anonymous = new HttpClient { BaseAddress = client.BaseAddress };
        await AssertProblemAsync(await anonymous.GetAsync(Path), HttpStatusCode.Unauthorized, null);

        // Nothing of the refused requests was stored.
        Assert.Empty(await AddressesAsync(client, Path));
    }

    [Fact]
    public async Task The_list_pages_with_a_cursor_through_many_entries()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);
        var addresses = Enumerable.Range(0, 1000).Select(i => $"r{i:D4}@example.net").ToArray();
        using (var added = await host.Client.PostAsync(Path, GatewayHost.Json(new { addresses })))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await GatewayHost.ReadAsync(await host.Client.GetAsync(cursor is null ? $"{Path}?limit=300" : $"{Path}?limit=300&cursor={cursor}"));
            seen.AddRange(page.GetProperty("suppressions").EnumerateArray().Select(e => e.GetProperty("address").GetString()!));
            cursor = page.TryGetProperty("next", out var next) ? next.GetString() : null;
        }
        while (cursor is not null);

        Assert.Equal(addresses, seen);
    }

    internal static async Task<List<(string Type, string? Recipient, string? Reply)>> EventsAsync(GatewayHost host, string id)
    {
        var page = await GatewayHost.ReadAsync(await host.Client.GetAsync($"/api/v1/messages/{id}/events"));
        return [.. page.GetProperty("events").EnumerateArray().Select(e => (
            e.GetProperty("type").GetString()!,
            e.TryGetProperty("recipient", out var r) ? r.GetString() : null,
            e.TryGetProperty("reply", out var reply) ? reply.GetString() : null))];
    }

    private static async Task<List<string>> AddressesAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await GatewayHost.ReadAsync(response)).GetProperty("suppressions").EnumerateArray().Select(e => e.GetProperty("address").GetString()!)];
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? code)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var body = await GatewayHost.ReadAsync(response);
            Assert.Equal((int)status, body.GetProperty("status").GetInt32());
            Assert.DoesNotContain("   at ", body.ToString(), StringComparison.Ordinal);
            if (code is not null)
            {
                Assert.Contains(body.GetProperty("errors").EnumerateArray(), e => e.GetProperty("code").GetString() == code);
            }
        }
    }
}
