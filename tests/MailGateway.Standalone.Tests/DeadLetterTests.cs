using System.Net;
using System.Text;
using System.Text.Json;
using MailGateway.Core.Storage;
using MailGateway.Testing;
using Microsoft.Extensions.DependencyInjection;
using SmtpServer.Protocol;
using static MailGateway.Standalone.Tests.SendApiTests;

namespace MailGateway.Standalone.Tests;

/// <summary>The dead-letter endpoints on the SQLite queue, with a real relay that refuses and then accepts.</summary>
public sealed class DeadLetterTests : IAsyncLifetime
{
    private volatile bool _refuse = true;
    private TestRelay _relay = null!;
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            RcptReply = to => _refuse && to.StartsWith("reject@", StringComparison.Ordinal) ? new SmtpResponse(SmtpReplyCode.MailboxUnavailable, "5.7.1 Refused by policy") : null,
        });
        _host = await GatewayHost.StartAsync(_relay, OperatorKeys.Configure);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
    }

    /// <summary>Sends a message the relay refuses and returns its id and its dead letter's id.</summary>
    private async Task<(string MessageId, string DeadLetterId)> DeadLetterAsync()
    {
        var id = await _host.SendAsync(new { from = "app@example.com", to = new[] { "reject@example.net" }, subject = "refused", text = "x" });
        await _host.WaitForStatusAsync(id, "failed");
        var list = await Poll.UntilAsync(
            async () => await GatewayHost.ReadAsync(await _host.Client.GetAsync("/api/v1/dead-letters")),
            l => l.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("messageId").GetString() == id));
        var entry = list.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("messageId").GetString() == id);
        return (id, entry.GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task A_failed_message_is_listed_and_read_with_its_reason_reply_and_attempts_by_its_key_and_admin_only()
    {
        var (messageId, id) = await DeadLetterAsync();
        using var other = OperatorKeys.Client(_host, GatewayHost.OtherKey);
        using var admin = OperatorKeys.Client(_host, OperatorKeys.Admin);

        var list = await GatewayHost.ReadAsync(await _host.Client.GetAsync("/api/v1/dead-letters?reason=failed&limit=10"));
        var entry = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal(("Failed", "app", messageId), (entry.GetProperty("reason").GetString(), entry.GetProperty("apiKey").GetString(), entry.GetProperty("messageId").GetString()));
        Assert.Contains("550", entry.GetProperty("description").GetString(), StringComparison.Ordinal);
        var details = await GatewayHost.ReadAsync(await _host.Client.GetAsync($"/api/v1/dead-letters/{id}"));
        Assert.Equal("failed", details.GetProperty("message").GetProperty("status").GetString());
        Assert.Single(details.GetProperty("message").GetProperty("attempts").EnumerateArray());
        Assert.Equal(["reject@example.net"], details.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()));

        Assert.Empty((await GatewayHost.ReadAsync(await other.GetAsync("/api/v1/dead-letters"))).GetProperty("items").EnumerateArray());
        await AssertProblemAsync(await other.GetAsync($"/api/v1/dead-letters/{id}"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await other.PostAsync($"/api/v1/dead-letters/{id}/replay", null), HttpStatusCode.NotFound);
        await AssertProblemAsync(await other.DeleteAsync($"/api/v1/dead-letters/{id}"), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/dead-letters/{id}")).StatusCode);
        Assert.Single((await GatewayHost.ReadAsync(await admin.GetAsync("/api/v1/dead-letters"))).GetProperty("items").EnumerateArray());
        Assert.Empty((await GatewayHost.ReadAsync(await _host.Client.GetAsync("/api/v1/dead-letters?reason=Expired"))).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_replay_is_a_new_attempt_with_the_same_message_id_and_two_concurrent_replays_deliver_once()
    {
        var (messageId, id) = await DeadLetterAsync();
        _refuse = false;

        var answers = await Task.WhenAll(
            _host.Client.PostAsync($"/api/v1/dead-letters/{id}/replay", null),
            _host.Client.PostAsync($"/api/v1/dead-letters/{id}/replay", null));

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.NotFound], answers.Select(a => a.StatusCode).Order());
        var accepted = answers.Single(a => a.StatusCode == HttpStatusCode.Accepted);
        Assert.Equal($"/api/v1/messages/{messageId}", accepted.Headers.Location!.OriginalString);
        var delivered = await _host.WaitForStatusAsync(messageId, "delivered");
        Assert.Equal(["failed", "delivered"], delivered.GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("outcome").GetString()));
        var relayed = Assert.Single(await _relay.WaitForMessagesAsync(1));
        Assert.Contains($"<{messageId}@example.com>", Encoding.ASCII.GetString(relayed.Data), StringComparison.OrdinalIgnoreCase);
        await AssertProblemAsync(await _host.Client.GetAsync($"/api/v1/dead-letters/{id}"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await _host.Client.PostAsync($"/api/v1/dead-letters/{id}/replay", null), HttpStatusCode.NotFound);
        Assert.Single(_relay.Messages);
    }

    [Fact]
    public async Task A_purge_removes_the_dead_letter_and_the_stored_content()
    {
        var (messageId, id) = await DeadLetterAsync();
        var details = await GatewayHost.ReadAsync(await _host.Client.GetAsync($"/api/v1/dead-letters/{id}"));
        Assert.Equal(JsonValueKind.Object, details.ValueKind);

        var purge = await _host.Client.DeleteAsync($"/api/v1/dead-letters/{id}");

        Assert.Equal(HttpStatusCode.NoContent, purge.StatusCode);
        await AssertProblemAsync(await _host.Client.GetAsync($"/api/v1/dead-letters/{id}"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await _host.Client.DeleteAsync($"/api/v1/dead-letters/{id}"), HttpStatusCode.NotFound);
        var content = _host.Services.GetRequiredService<IMessageContentStore>();
        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => content.OpenReadAsync(SqliteReference(messageId), CancellationToken.None));
        Assert.Equal("failed", (await _host.StatusAsync(messageId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_bulk_replay_by_filter_replays_the_matching_dead_letters_in_pages_and_two_at_once_deliver_each_once()
    {
        var dead = new List<(string MessageId, string DeadLetterId)>();
        for (var i = 0; i < 5; i++)
        {
            dead.Add(await DeadLetterAsync());
        }

        using var other = OperatorKeys.Client(_host, GatewayHost.OtherKey);
        var none = await GatewayHost.ReadAsync(await other.PostAsync("/api/v1/dead-letters/replay", null));
        Assert.Equal((0, false), (none.GetProperty("done").GetInt32(), none.GetProperty("more").GetBoolean()));
        Assert.Empty(none.GetProperty("items").EnumerateArray());
        Assert.Empty((await GatewayHost.ReadAsync(await _host.Client.PostAsync("/api/v1/dead-letters/replay?reason=Expired", null))).GetProperty("items").EnumerateArray());
        _refuse = false;

        // The first page: the two newest; then two concurrent calls share the other three, never one twice.
        var first = await GatewayHost.ReadAsync(await _host.Client.PostAsync("/api/v1/dead-letters/replay?reason=failed&limit=2", null));
        Assert.Equal((2, true), (first.GetProperty("done").GetInt32(), first.GetProperty("more").GetBoolean()));
        Assert.Equal([dead[4].DeadLetterId, dead[3].DeadLetterId], first.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        Assert.All(first.GetProperty("items").EnumerateArray(), i => Assert.Equal("replayed", i.GetProperty("outcome").GetString()));
        var rest = await Task.WhenAll(
            _host.Client.PostAsync("/api/v1/dead-letters/replay", null),
            _host.Client.PostAsync("/api/v1/dead-letters/replay", null));
        var outcomes = new List<(string? Id, string? Outcome)>();
        foreach (var answer in rest)
        {
            var body = await GatewayHost.ReadAsync(answer);
            Assert.False(body.GetProperty("more").GetBoolean());
            outcomes.AddRange(body.GetProperty("items").EnumerateArray().Select(i => (i.GetProperty("id").GetString(), i.GetProperty("outcome").GetString())));
        }

        var replayed = outcomes.Where(o => o.Outcome == "replayed").Select(o => o.Id).ToList();
        Assert.Equal(dead[..3].Select(d => d.DeadLetterId).Order(StringComparer.Ordinal), replayed.Order(StringComparer.Ordinal));
        Assert.All(outcomes.Where(o => o.Outcome != "replayed"), o => Assert.Equal("gone", o.Outcome));

        foreach (var (messageId, _) in dead)
        {
            var delivered = await _host.WaitForStatusAsync(messageId, "delivered");
            Assert.Equal(["failed", "delivered"], delivered.GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("outcome").GetString()));
            var events = await GatewayHost.ReadAsync(await _host.Client.GetAsync($"/api/v1/messages/{messageId}/events"));
            Assert.Contains(events.GetProperty("events").EnumerateArray(), e =>
                e.GetProperty("type").GetString() == "deferred" && e.TryGetProperty("reply", out var r) && r.GetString()!.Contains("Replayed in bulk with API key 'app'", StringComparison.Ordinal));
        }

        await _relay.WaitForMessagesAsync(5);
        Assert.Equal(5, _relay.Messages.Count);
        Assert.Empty((await GatewayHost.ReadAsync(await _host.Client.GetAsync("/api/v1/dead-letters"))).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_bulk_purge_removes_the_matching_dead_letters_with_their_content_and_bad_input_is_a_problem()
    {
        var (old, _) = await DeadLetterAsync();
        var since = DateTimeOffset.UtcNow;
        var (recent, _) = await DeadLetterAsync();
        using var reader = OperatorKeys.Client(_host, OperatorKeys.ReadOnly);

        var problem = await AssertProblemAsync(
            await _host.Client.PostAsync("/api/v1/dead-letters/purge?reason=nope&cursor=1&limit=1001&since=x", null), HttpStatusCode.BadRequest);
        Assert.Equal(
            new HashSet<(string?, string?)> { ("reason", "invalid_reason"), ("cursor", "unknown_parameter"), ("limit", "invalid_limit"), ("since", "invalid_date_time") },
            problem.GetProperty("errors").EnumerateArray().Select(e => (e.GetProperty("field").GetString(), e.GetProperty("code").GetString())).ToHashSet());
        await AssertProblemAsync(await reader.PostAsync("/api/v1/dead-letters/purge", null), HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync(await reader.PostAsync("/api/v1/dead-letters/replay", null), HttpStatusCode.Forbidden, "missing_scope");
        Assert.Equal(2, (await GatewayHost.ReadAsync(await _host.Client.GetAsync("/api/v1/dead-letters"))).GetProperty("items").GetArrayLength());

        var sinceText = Uri.EscapeDataString(since.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        var purged = await GatewayHost.ReadAsync(await _host.Client.PostAsync($"/api/v1/dead-letters/purge?since={sinceText}", null));

        Assert.Equal((1, false), (purged.GetProperty("done").GetInt32(), purged.GetProperty("more").GetBoolean()));
        var item = Assert.Single(purged.GetProperty("items").EnumerateArray());
        Assert.Equal((recent, "purged"), (item.GetProperty("messageId").GetString(), item.GetProperty("outcome").GetString()));
        var content = _host.Services.GetRequiredService<IMessageContentStore>();
        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => content.OpenReadAsync(SqliteReference(recent), CancellationToken.None));
        await using (var kept = await content.OpenReadAsync(SqliteReference(old), CancellationToken.None))
        {
            Assert.True(kept.CanRead);
        }

        var left = await GatewayHost.ReadAsync(await _host.Client.GetAsync("/api/v1/dead-letters"));
        Assert.Equal(old, Assert.Single(left.GetProperty("items").EnumerateArray()).GetProperty("messageId").GetString());
    }

    private static string SqliteReference(string messageId) => MailGateway.Embedded.SqliteMessageContentStore.ReferenceFor(messageId);

    [Fact]
    public async Task Bad_input_and_missing_scopes_are_problems()
    {
        using var reader = OperatorKeys.Client(_host, OperatorKeys.ReadOnly);
        using var sender = OperatorKeys.Client(_host, OperatorKeys.SendOnly);
        using var anonymous = new HttpClient { BaseAddress = _host.Client.BaseAddress };

        var problem = await AssertProblemAsync(
            await _host.Client.GetAsync("/api/v1/dead-letters?reason=nope&since=2026-01-01&until=2026-01-01T00:00:00&cursor=abc&limit=0&colour=blue"),
            HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors").EnumerateArray().Select(e => (e.GetProperty("field").GetString(), e.GetProperty("code").GetString())).ToHashSet();
        Assert.Equal(
            new HashSet<(string?, string?)>
            {
                ("reason", "invalid_reason"), ("since", "invalid_date_time"), ("until", "offset_required"), ("cursor", "invalid_cursor"),
                ("limit", "invalid_limit"), ("colour", "unknown_parameter"),
            },
            errors);
        await AssertProblemAsync(await _host.Client.GetAsync("/api/v1/dead-letters/not-a-number"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await _host.Client.GetAsync("/api/v1/dead-letters/99999999999999999999"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await _host.Client.PostAsync("/api/v1/dead-letters/12/replay", null), HttpStatusCode.NotFound);
        await AssertProblemAsync(await reader.PostAsync("/api/v1/dead-letters/1/replay", null), HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync(await reader.DeleteAsync("/api/v1/dead-letters/1"), HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync(await sender.GetAsync("/api/v1/dead-letters"), HttpStatusCode.Forbidden, "missing_scope");
        await AssertProblemAsync(await anonymous.GetAsync("/api/v1/dead-letters"), HttpStatusCode.Unauthorized);
    }
}
