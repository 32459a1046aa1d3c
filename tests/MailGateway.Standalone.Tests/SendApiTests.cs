using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MailGateway.Testing;
using MimeKit;

namespace MailGateway.Standalone.Tests;

/// <summary>Every status code of the API through a real Kestrel, and the happy path to a real relay.</summary>
public sealed class SendApiTests : IAsyncLifetime
{
    private TestRelay _relay = null!;
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync();
        _host = await GatewayHost.StartAsync(_relay, s => s["MailGateway:Api:MaxRequestBodyBytes"] = "65536");
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
    }

    [Fact]
    public async Task Accepted_message_is_delivered_over_starttls_and_its_status_shows_port_tls_and_reply()
    {
        var (response, body) = await _host.PostAsync(new
        {
            from = new { address = "app@example.com", name = "App" },
            to = new[] { "rcpt@example.net" },
            bcc = new[] { new { address = "hidden@example.net" } },
            subject = "Hello",
            text = "Hello from the test",
            tags = new[] { "welcome" },
            metadata = new Dictionary<string, string> { ["order"] = "42" },
        });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal("queued", body.GetProperty("status").GetString());
        Assert.Equal($"/api/v1/messages/{id}", response.Headers.Location!.OriginalString);

        var status = await _host.WaitForStatusAsync(id, "delivered");
        var attempt = Assert.Single(status.GetProperty("attempts").EnumerateArray());
        Assert.Equal(_relay.Port(RelayEndpointKind.StartTls), attempt.GetProperty("port").GetInt32());
        Assert.StartsWith("Tls", attempt.GetProperty("tls").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("250", attempt.GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.Equal(["delivered", "delivered"], status.GetProperty("recipients").EnumerateArray().Select(r => r.GetProperty("status").GetString()));
        Assert.Equal("welcome", status.GetProperty("tags")[0].GetString());
        Assert.Equal("42", status.GetProperty("metadata").GetProperty("order").GetString());

        var relayed = Assert.Single(await _relay.WaitForMessagesAsync(1));
        Assert.True(relayed.Secure);
        Assert.Equal(["rcpt@example.net", "hidden@example.net"], relayed.Recipients);
        using var mime = MimeMessage.Load(new MemoryStream(relayed.Data));
        Assert.Equal($"{id}@example.com", mime.MessageId);
        Assert.Empty(mime.Bcc);
    }

    [Fact]
    public async Task X_Api_Key_header_is_accepted_too()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = GatewayHost.Json(GatewayHost.Message()) };
        request.Headers.Authorization = null;
        request.Headers.Add("X-Api-Key", GatewayHost.AppKey);
        using var client = new HttpClient { BaseAddress = _host.Client.BaseAddress };

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Invalid_json_is_400_problem_json()
    {
        var response = await _host.Client.PostAsync("/api/v1/messages", new StringContent("{\"from\": ", Encoding.UTF8, "application/json"));

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task Unknown_property_is_400_not_silently_dropped()
    {
        var response = await _host.Client.PostAsync("/api/v1/messages", GatewayHost.Json(new { from = "app@example.com", too = new[] { "x@example.net" }, text = "x" }));

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_json");
        Assert.Equal("too", problem.GetProperty("errors")[0].GetProperty("field").GetString());
    }

    [Fact]
    public async Task Invalid_fields_are_400_listing_every_field_error()
    {
        var (response, body) = await _host.PostAsync(new
        {
            from = "app@example.com",
            to = new[] { "not-an-address" },
            cc = new object?[] { null },
            headers = new[] { new { name = "From", value = "x@example.com" } },
            attachments = new[] { new { filename = "a.txt", contentType = "text/plain", content = "!!not base64" } },
            expiresAt = DateTimeOffset.UtcNow.AddDays(-1),
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var errors = body.GetProperty("errors").EnumerateArray().Select(e => (e.GetProperty("field").GetString(), e.GetProperty("code").GetString())).ToHashSet();
        Assert.Contains(("to[0].address", "invalid_address"), errors);
        Assert.Contains(("cc[0]", "required"), errors);
        Assert.Contains(("headers[0].name", "reserved_header"), errors);
        Assert.Contains(("attachments[0].content", "invalid_base64"), errors);
        Assert.Contains(("text", "body_required"), errors);
        Assert.Contains(("expiresAt", "in_the_past"), errors);
        Assert.Equal(6, errors.Count);
    }

    [Fact]
    public async Task Missing_api_key_is_401_with_a_challenge()
    {
        using var client = new HttpClient { BaseAddress = _host.Client.BaseAddress };

        var response = await client.PostAsync("/api/v1/messages", GatewayHost.Json(GatewayHost.Message()));

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Unknown_api_key_is_401()
    {
        using var client = new HttpClient { BaseAddress = _host.Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayHost.AppKey + "x");

        var post = await client.PostAsync("/api/v1/messages", GatewayHost.Json(GatewayHost.Message()));
        var get = await client.GetAsync("/api/v1/messages/whatever");

        await AssertProblemAsync(post, HttpStatusCode.Unauthorized);
        await AssertProblemAsync(get, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Sender_outside_the_keys_domains_is_403()
    {
        var (response, body) = await _host.PostAsync(new { from = "app@example.org", to = new[] { "rcpt@example.net" }, text = "x" });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("sender_not_allowed", body.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task Unknown_message_is_404_and_so_is_another_keys_message()
    {
        var id = await _host.SendAsync();
        using var other = new HttpClient { BaseAddress = _host.Client.BaseAddress };
        other.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayHost.OtherKey);

        await AssertProblemAsync(await _host.Client.GetAsync("/api/v1/messages/0123456789abcdef"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await other.GetAsync($"/api/v1/messages/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Body_larger_than_the_limit_by_content_length_is_413_before_reading()
    {
        using var content = new ByteArrayContent(new byte[70_000]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await _host.Client.PostAsync("/api/v1/messages", content);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Chunked_body_growing_past_the_limit_is_413()
    {
        var json = JsonSerializer.Serialize(new { from = "app@example.com", to = new[] { "rcpt@example.net" }, text = new string('x', 100_000) });
        using var content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await _host.Client.PostAsync("/api/v1/messages", content);

        Assert.Null(content.Headers.ContentLength);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Non_json_body_is_415()
    {
        var response = await _host.Client.PostAsync("/api/v1/messages", new StringContent("from=app@example.com", Encoding.UTF8, "application/x-www-form-urlencoded"));

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Same_idempotency_key_and_body_returns_the_original_answer_and_sends_once()
    {
        var first = await _host.PostAsync(GatewayHost.Message("once"), "order-1");
        var second = await _host.PostAsync(GatewayHost.Message("once"), "order-1");

        Assert.Equal(HttpStatusCode.Accepted, second.Response.StatusCode);
        Assert.Equal(first.Body.GetProperty("id").GetString(), second.Body.GetProperty("id").GetString());
        Assert.Equal(first.Response.Headers.Location, second.Response.Headers.Location);
        await _host.WaitForStatusAsync(first.Body.GetProperty("id").GetString()!, "delivered");
        var marker = await _host.SendAsync(GatewayHost.Message("marker"));
        await _host.WaitForStatusAsync(marker, "delivered");
        Assert.Single(_relay.Messages, m => Encoding.ASCII.GetString(m.Data).Contains("Subject: once", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Same_idempotency_key_with_another_body_is_422()
    {
        await _host.PostAsync(GatewayHost.Message("first"), "order-2");
        var (response, body) = await _host.PostAsync(GatewayHost.Message("second"), "order-2");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("idempotency_key_reused", body.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task Two_concurrent_posts_with_one_idempotency_key_deliver_once()
    {
        var posts = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => _host.PostAsync(GatewayHost.Message("race"), "race-key"))));

        Assert.All(posts, p => Assert.Equal(HttpStatusCode.Accepted, p.Response.StatusCode));
        var id = Assert.Single(posts.Select(p => p.Body.GetProperty("id").GetString()).Distinct())!;
        await _host.WaitForStatusAsync(id, "delivered");
        var marker = await _host.SendAsync(GatewayHost.Message("marker"));
        await _host.WaitForStatusAsync(marker, "delivered");
        Assert.Single(_relay.Messages, m => Encoding.ASCII.GetString(m.Data).Contains("Subject: race", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Health_and_readiness_answer_200()
    {
        using var anonymous = new HttpClient { BaseAddress = _host.Client.BaseAddress };

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task OpenApi_document_and_reference_page_are_served()
    {
        using var anonymous = new HttpClient { BaseAddress = _host.Client.BaseAddress };

        var document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json")).RootElement;
        var page = await anonymous.GetAsync("/scalar");

        var post = document.GetProperty("paths").GetProperty("/api/v1/messages").GetProperty("post");
        Assert.True(post.GetProperty("responses").TryGetProperty("202", out _));
        Assert.True(post.GetProperty("responses").TryGetProperty("413", out _));
        Assert.True(post.TryGetProperty("requestBody", out _));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
    }

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? code = null)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        if (code is not null)
        {
            Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("code").GetString() == code);
        }

        return problem;
    }

    /// <summary>A stream without a length, so HttpClient sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
