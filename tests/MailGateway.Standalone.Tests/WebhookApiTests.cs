using System.Net;
using System.Text;
using System.Text.Json;
using MailGateway.Core.Webhooks;
using MailGateway.Testing;
using Microsoft.Data.Sqlite;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// Webhook endpoints per API key through the API, end to end: a real gateway, a real relay and a real Kestrel receiver
/// that verifies every delivery with the independent StandardWebhooks package (with the secret of the 201 answer).
/// </summary>
public sealed class WebhookApiTests : IAsyncLifetime
{
    private const string Hooks = "/api/v1/webhooks";
    private TestRelay _relay = null!;

    public async Task InitializeAsync() => _relay = await TestRelay.StartAsync();

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    private Task<GatewayHost> StartGatewayAsync(Action<Dictionary<string, string?>>? configure = null) =>
        GatewayHost.StartAsync(_relay, settings =>
        {
            OperatorKeys.Configure(settings);
            settings["MailGateway:Webhooks:AllowLoopback"] = "true";
            settings["MailGateway:Webhooks:PollInterval"] = "00:00:00.050";
            settings["MailGateway:Webhooks:RetryScale"] = "0.001";
            configure?.Invoke(settings);
        });

    private static async Task<JsonElement> CreateAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsync(Hooks, GatewayHost.Json(body));
        var json = await GatewayHost.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {json}");
        Assert.Equal($"{Hooks}/{json.GetProperty("id").GetString()}", response.Headers.Location?.ToString());
        return json;
    }

    private static string HookUrl(WebhookReceiver receiver) => new Uri(receiver.BaseAddress, "/hook").ToString();

    [Fact]
    public async Task A_created_webhook_gets_only_its_keys_events_signed_with_the_secret_of_the_201()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var gateway = await StartGatewayAsync();
        using var other = OperatorKeys.Client(gateway, GatewayHost.OtherKey);
        using var admin = OperatorKeys.Client(gateway, OperatorKeys.Admin);

        var created = await CreateAsync(gateway.Client, new { url = HookUrl(receiver), eventTypes = new[] { "accepted", "delivered", "accepted" } });
        var id = created.GetProperty("id").GetString()!;
        var secret = created.GetProperty("secret").GetString()!;
        receiver.Trust(secret);
        using var otherSend = await other.PostAsync("/api/v1/messages", GatewayHost.Json(new { from = "a@x.other.example", to = new[] { "b@example.net" }, subject = "s", text = "t" }));
        Assert.Equal(HttpStatusCode.Accepted, otherSend.StatusCode);
        var message = await gateway.SendAsync();
        await Poll.UntilAsync(() => receiver.Events().Contains((message, "delivered", null)), () => $"received {receiver.Received.Count}, forged {receiver.Forged}");

        Assert.StartsWith("wh_", id, StringComparison.Ordinal);
        Assert.True(WebhookSignature.TryParseSecret(secret, out _));
        Assert.Equal(["accepted", "delivered"], created.GetProperty("eventTypes").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(("api", "app", true), (created.GetProperty("source").GetString(), created.GetProperty("apiKey").GetString(), created.GetProperty("enabled").GetBoolean()));
        Assert.Equal([(message, "accepted", null), (message, "delivered", "rcpt@example.net"), (message, "delivered", null)], receiver.Events());
        Assert.Equal(0, receiver.Forged);
        var own = await GatewayHost.ReadAsync(await gateway.Client.GetAsync(Hooks));
        Assert.Contains(id, own.GetProperty("webhooks").EnumerateArray().Select(w => w.GetProperty("id").GetString()));
        Assert.DoesNotContain("whsec_", own.ToString(), StringComparison.Ordinal);
        var one = await GatewayHost.ReadAsync(await gateway.Client.GetAsync($"{Hooks}/{id}"));
        Assert.False(one.TryGetProperty("secret", out _));
        Assert.Equal(receiver.Received.Last().Id, one.GetProperty("cursor").GetString());
        Assert.Empty((await GatewayHost.ReadAsync(await other.GetAsync(Hooks))).GetProperty("webhooks").EnumerateArray());
        using (var othersView = await other.GetAsync($"{Hooks}/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, othersView.StatusCode);
        }

        using (var othersDelete = await other.DeleteAsync($"{Hooks}/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, othersDelete.StatusCode);
        }

        Assert.Contains(id, (await GatewayHost.ReadAsync(await admin.GetAsync(Hooks))).GetProperty("webhooks").EnumerateArray().Select(w => w.GetProperty("id").GetString()));
    }

    [Theory]
    [InlineData("1.00:00:00", true)]
    [InlineData("00:00:00", false)]
    public async Task After_a_rotation_deliveries_verify_with_the_new_secret_and_during_the_grace_period_with_the_old_one(string grace, bool bothSign)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var gateway = await StartGatewayAsync(s => s["MailGateway:Webhooks:SecretRotationGrace"] = grace);
        var created = await CreateAsync(gateway.Client, new { url = HookUrl(receiver), eventTypes = new[] { "accepted" } });
        var id = created.GetProperty("id").GetString()!;
        var old = created.GetProperty("secret").GetString()!;
        receiver.Trust(old);
        var before = await gateway.SendAsync();
        await Poll.UntilAsync(() => receiver.Events().Any(e => e.MessageId == before), () => $"received {receiver.Received.Count}");

        using var rotate = await gateway.Client.PostAsync($"{Hooks}/{id}/rotate-secret", null);
        var rotated = await GatewayHost.ReadAsync(rotate);
        Assert.Equal(HttpStatusCode.OK, rotate.StatusCode);
        var fresh = rotated.GetProperty("secret").GetString()!;
        receiver.Trust(old, fresh);
        var after = await gateway.SendAsync();
        await Poll.UntilAsync(() => receiver.Events().Any(e => e.MessageId == after), () => $"received {receiver.Received.Count}, forged {receiver.Forged}");

        Assert.NotEqual(old, fresh);
        Assert.True(WebhookSignature.TryParseSecret(fresh, out _));
        var afterId = receiver.Received.Single(r => r.Body.GetProperty("data").GetProperty("messageId").GetString() == after).Id;
        var verifiedBy = receiver.Signatures.Single(s => s.Id == afterId).VerifiedBy;
        Assert.Equal(bothSign ? [old, fresh] : [fresh], verifiedBy);
        Assert.Equal(bothSign, rotated.TryGetProperty("previousSecretExpiresAt", out _));
        var listed = await GatewayHost.ReadAsync(await gateway.Client.GetAsync($"{Hooks}/{id}"));
        Assert.Equal(bothSign, listed.TryGetProperty("previousSecretExpiresAt", out _));
        Assert.DoesNotContain("whsec_", listed.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabling_pauses_and_enabling_resumes_at_the_cursor_also_after_the_retry_schedule_ran_out()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var gateway = await StartGatewayAsync();
        var created = await CreateAsync(gateway.Client, new { url = HookUrl(receiver), eventTypes = new[] { "accepted" }, enabled = false });
        var id = created.GetProperty("id").GetString()!;
        receiver.Trust(created.GetProperty("secret").GetString()!);

        var whileDisabled = await gateway.SendAsync();
        await gateway.WaitForStatusAsync(whileDisabled, "delivered");
        var disabled = await GatewayHost.ReadAsync(await gateway.Client.GetAsync($"{Hooks}/{id}"));
        using (var enable = await gateway.Client.PatchAsync($"{Hooks}/{id}", GatewayHost.Json(new { enabled = true })))
        {
            Assert.Equal(HttpStatusCode.OK, enable.StatusCode);
        }

        await Poll.UntilAsync(() => receiver.Events().Any(e => e.MessageId == whileDisabled), () => $"received {receiver.Received.Count}");
        // The receiver answers before the dispatcher saves its cursor; the row written below must not race that save.
        var deliveredId = receiver.Received.Last().Id;
        await Poll.UntilAsync(async () => (await GatewayHost.ReadAsync(await gateway.Client.GetAsync($"{Hooks}/{id}"))).GetProperty("cursor").GetString() == deliveredId,
            () => $"cursor not yet at {deliveredId}");

        Assert.False(disabled.GetProperty("enabled").GetBoolean());
        Assert.Contains("Disabled through the API", disabled.GetProperty("disabledReason").GetString(), StringComparison.Ordinal);

        // The retry schedule ran out (written as the dispatcher writes it; three days even scaled are minutes).
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(gateway.DataDirectory, "gateway.db")};Pooling=False;Default Timeout=30"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE webhook_endpoints SET disabled = 1, failures = 10, last_error = 'Answered 500.' WHERE name = $id";
            command.Parameters.AddWithValue("$id", id);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var ranOut = await GatewayHost.ReadAsync(await gateway.Client.GetAsync($"{Hooks}/{id}"));
        var whileRanOut = await gateway.SendAsync();
        await gateway.WaitForStatusAsync(whileRanOut, "delivered");
        using var resume = await gateway.Client.PatchAsync($"{Hooks}/{id}", GatewayHost.Json(new { enabled = true }));
        var resumed = await GatewayHost.ReadAsync(resume);
        await Poll.UntilAsync(() => receiver.Events().Any(e => e.MessageId == whileRanOut), () => $"received {receiver.Received.Count}");

        Assert.False(ranOut.GetProperty("enabled").GetBoolean());
        Assert.Contains("retry schedule ran out", ranOut.GetProperty("disabledReason").GetString(), StringComparison.Ordinal);
        Assert.Equal((true, 0), (resumed.GetProperty("enabled").GetBoolean(), resumed.GetProperty("failures").GetInt32()));
        Assert.Equal([whileDisabled, whileRanOut], receiver.Events().Select(e => e.MessageId));
    }

    [Fact]
    public async Task A_deleted_webhook_is_gone_and_its_receiver_gets_nothing_more()
    {
        await using var deletedReceiver = await WebhookReceiver.StartAsync();
        await using var keptReceiver = await WebhookReceiver.StartAsync();
        await using var gateway = await StartGatewayAsync();
        var deleted = await CreateAsync(gateway.Client, new { url = HookUrl(deletedReceiver), eventTypes = new[] { "accepted" } });
        var kept = await CreateAsync(gateway.Client, new { url = HookUrl(keptReceiver), eventTypes = new[] { "accepted" } });
        deletedReceiver.Trust(deleted.GetProperty("secret").GetString()!);
        keptReceiver.Trust(kept.GetProperty("secret").GetString()!);
        var id = deleted.GetProperty("id").GetString()!;

        using var delete = await gateway.Client.DeleteAsync($"{Hooks}/{id}");
        using var again = await gateway.Client.DeleteAsync($"{Hooks}/{id}");
        using var get = await gateway.Client.GetAsync($"{Hooks}/{id}");
        var message = await gateway.SendAsync();
        await Poll.UntilAsync(() => keptReceiver.Events().Any(e => e.MessageId == message), () => $"received {keptReceiver.Received.Count}");

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NotFound, HttpStatusCode.NotFound), (delete.StatusCode, again.StatusCode, get.StatusCode));
        Assert.Equal(0, deletedReceiver.Hits);
        Assert.DoesNotContain(id, (await GatewayHost.ReadAsync(await gateway.Client.GetAsync(Hooks))).ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BadCreates() => new()
    {
        { """{"url": "http://example.com/hook"}""", "url", "invalid_url" },
        { """{"url": "https://10.0.0.5/hook"}""", "url", "invalid_url" },
        { """{"url": "https://169.254.169.254/latest/meta-data"}""", "url", "invalid_url" },
        { """{"url": "https://[fd00:ec2::254]/"}""", "url", "invalid_url" },
        { """{"url": "https://user:pw@hooks.example.com/"}""", "url", "invalid_url" },
        { """{"url": "ftp://hooks.example.com/"}""", "url", "invalid_url" },
        { "{\"url\": \"https://hooks.example.com/" + new string('a', 2100) + "\"}", "url", "invalid_url" },
        { """{"eventTypes": ["accepted"]}""", "url", "required" },
        { """{"url": "https://hooks.example.com/", "eventTypes": ["accepted", "opened"]}""", "eventTypes[1]", "invalid_type" },
        { """{"url": "https://hooks.example.com/", "eventTypes": [null]}""", "eventTypes[0]", "invalid_type" },
        { """{"url": "https://hooks.example.com/", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}""", "secret", "invalid_json" },
        { "{\"url\": \"https://hooks.example.com/\", \"eventTypes\": [" + string.Join(',', Enumerable.Repeat("\"opened\"", 1000)) + "]}", "eventTypes", "invalid_type" },
        { """{"url": 5}""", "url", "invalid_json" },
        { """[]""", "", "invalid_json" },
        { """null""", "", "invalid_json" },
        { """{"url": """, "url", "invalid_json" },
    };

    [Theory]
    [MemberData(nameof(BadCreates))]
    public async Task A_bad_create_is_a_400_naming_the_field_and_creates_nothing(string body, string field, string code)
    {
        await using var gateway = await StartGatewayAsync();

        using var response = await gateway.Client.PostAsync(Hooks, new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await GatewayHost.ReadAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("field").GetString() == field && e.GetProperty("code").GetString() == code);
        Assert.Empty((await GatewayHost.ReadAsync(await gateway.Client.GetAsync(Hooks))).GetProperty("webhooks").EnumerateArray());
    }

    [Fact]
    public async Task Limits_scopes_and_configured_endpoints_are_refused_with_problems()
    {
        await using var gateway = await StartGatewayAsync(s =>
        {
            s["MailGateway:Webhooks:MaxEndpointsPerKey"] = "2";
            s["MailGateway:Webhooks:Endpoints:0:Url"] = "https://hooks.example.com/configured";
            s["MailGateway:Webhooks:Endpoints:0:Secret"] = WebhookSignature.NewSecret();
            s["MailGateway:Webhooks:Endpoints:0:KeyId"] = "app";
        });
        using var reader = OperatorKeys.Client(gateway, OperatorKeys.ReadOnly);
        using var sender = OperatorKeys.Client(gateway, OperatorKeys.SendOnly);
        using var anonymous = new HttpClient { BaseAddress = gateway.Client.BaseAddress };
        var body = new { url = "https://hooks.example.com/mail" };

        await CreateAsync(gateway.Client, body);
        await CreateAsync(gateway.Client, body);
        using var third = await gateway.Client.PostAsync(Hooks, GatewayHost.Json(body));
        using var otherKeysFirst = await sender.PostAsync(Hooks, GatewayHost.Json(body));
        using var readOnly = await reader.PostAsync(Hooks, GatewayHost.Json(body));
        using var sendOnlyList = await sender.GetAsync(Hooks);
        using var noKey = await anonymous.PostAsync(Hooks, GatewayHost.Json(body));
        using var tooLarge = await gateway.Client.PostAsync(Hooks, GatewayHost.Json(new { url = "https://hooks.example.com/" + new string('a', 20_000) }));
        using var notJson = await gateway.Client.PostAsync(Hooks, new StringContent("url=https://hooks.example.com/", Encoding.UTF8, "application/x-www-form-urlencoded"));
        using var patchConfigured = await gateway.Client.PatchAsync($"{Hooks}/endpoint-0", GatewayHost.Json(new { enabled = false }));
        using var rotateConfigured = await gateway.Client.PostAsync($"{Hooks}/endpoint-0/rotate-secret", null);
        using var deleteConfigured = await gateway.Client.DeleteAsync($"{Hooks}/endpoint-0");
        using var unknown = await gateway.Client.GetAsync($"{Hooks}/wh_000000000000000000000000");
        using var longId = await gateway.Client.GetAsync($"{Hooks}/wh_{new string('0', 500)}");
        var configured = await GatewayHost.ReadAsync(await gateway.Client.GetAsync($"{Hooks}/endpoint-0"));

        Assert.Equal(HttpStatusCode.Conflict, third.StatusCode);
        Assert.Contains("too_many_webhooks", await third.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, otherKeysFirst.StatusCode);
        Assert.Equal((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Unauthorized), (readOnly.StatusCode, sendOnlyList.StatusCode, noKey.StatusCode));
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, HttpStatusCode.UnsupportedMediaType), (tooLarge.StatusCode, notJson.StatusCode));
        foreach (var refused in new[] { patchConfigured, rotateConfigured, deleteConfigured })
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("configured_webhook", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound), (unknown.StatusCode, longId.StatusCode));
        Assert.Equal(("configuration", "https://hooks.example.com/configured"), (configured.GetProperty("source").GetString(), configured.GetProperty("url").GetString()));
        Assert.All(new[] { third, readOnly, tooLarge, notJson, unknown }, r => Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType));
    }

    [Fact]
    public async Task Concurrent_creates_of_one_key_never_pass_MaxEndpointsPerKey()
    {
        await using var gateway = await StartGatewayAsync(s => s["MailGateway:Webhooks:MaxEndpointsPerKey"] = "5");

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await gateway.Client.PostAsync(Hooks, GatewayHost.Json(new { url = $"https://hooks.example.com/{i}" }));
            return response.StatusCode;
        }));

        Assert.Equal(5, answers.Count(a => a == HttpStatusCode.Created));
        Assert.Equal(15, answers.Count(a => a == HttpStatusCode.Conflict));
        Assert.Equal(5, (await GatewayHost.ReadAsync(await gateway.Client.GetAsync(Hooks))).GetProperty("webhooks").GetArrayLength());
    }

    [Fact]
    public async Task A_configured_endpoint_without_KeyId_gets_every_keys_events_and_only_admin_sees_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync(WebhookSignature.NewSecret());
        await using var gateway = await StartGatewayAsync(s =>
        {
            s["MailGateway:Webhooks:Endpoints:0:Url"] = HookUrl(receiver);
            s["MailGateway:Webhooks:Endpoints:0:Secret"] = receiver.Secret;
            s["MailGateway:Webhooks:Endpoints:0:EventTypes:0"] = "accepted";
        });
        using var other = OperatorKeys.Client(gateway, GatewayHost.OtherKey);
        using var admin = OperatorKeys.Client(gateway, OperatorKeys.Admin);
        // A configured endpoint starts at the newest event when it is first seen: reading it makes its state now.
        var listed = Assert.Single((await GatewayHost.ReadAsync(await admin.GetAsync(Hooks))).GetProperty("webhooks").EnumerateArray());

        var own = await gateway.SendAsync();
        using var otherSend = await other.PostAsync("/api/v1/messages", GatewayHost.Json(new { from = "a@x.other.example", to = new[] { "b@example.net" }, subject = "s", text = "t" }));
        var othersId = (await GatewayHost.ReadAsync(otherSend)).GetProperty("id").GetString()!;
        await Poll.UntilAsync(() => receiver.Events().Count >= 2, () => $"received {receiver.Received.Count}");

        Assert.Equal(new[] { own, othersId }.Order(StringComparer.Ordinal), receiver.Events().Select(e => e.MessageId).Order(StringComparer.Ordinal));
        Assert.Empty((await GatewayHost.ReadAsync(await gateway.Client.GetAsync(Hooks))).GetProperty("webhooks").EnumerateArray());
        Assert.Equal(("endpoint-0", "configuration"), (listed.GetProperty("id").GetString(), listed.GetProperty("source").GetString()));
        Assert.False(listed.TryGetProperty("apiKey", out _));
    }

    [Fact]
    public async Task A_configured_endpoint_name_that_looks_like_an_api_id_stops_the_host()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartGatewayAsync(s =>
        {
            s["MailGateway:Webhooks:Endpoints:0:Name"] = "wh_mine";
            s["MailGateway:Webhooks:Endpoints:0:Url"] = "https://hooks.example.com/configured";
            s["MailGateway:Webhooks:Endpoints:0:Secret"] = WebhookSignature.NewSecret();
        }));

        Assert.Contains("Endpoints:0:Name", error.ToString(), StringComparison.Ordinal);
    }
}
