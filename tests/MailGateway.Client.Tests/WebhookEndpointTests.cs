using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MailGateway.Client.AspNetCore;
using MailGateway.Client.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StandardWebhooks;

namespace MailGateway.Client.Tests;

/// <summary>A receiver on real Kestrel: deliveries signed by the StandardWebhooks package, verified by our endpoint helpers.</summary>
public sealed class WebhookEndpointTests : IAsyncLifetime
{
    private static readonly string Secret = WebhookVerifier.GenerateSecret();

    private readonly List<MailGatewayWebhook> _received = [];
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapMailGatewayWebhook("/hooks/endpoint", new WebhookVerifier(Secret), (webhook, _) =>
        {
            lock (_received)
            {
                _received.Add(webhook);
            }

            return Task.CompletedTask;
        });
        _app.MapPost("/hooks/one-call", async (HttpRequest request) =>
        {
            var webhook = await request.VerifyMailGatewayWebhookAsync(Secret);
            return Results.Text(webhook.Id + " " + webhook.GetBodyText());
        });
        _app.MapPost("/hooks/typed", async (HttpRequest request) =>
        {
            var webhook = await request.VerifyMailGatewayWebhookAsync(new WebhookVerifier(Secret), TestPayloadJson.Default.TestEvent);
            return Results.Text($"{webhook.Id} {webhook.Payload.Type} {webhook.Payload.Data.Id}");
        });
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = Loopback.AddressOf(_app) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task A_delivery_made_by_the_StandardWebhooks_package_reaches_the_handler_and_is_answered_204()
    {
        var content = new StandardWebhook(Secret).MakeHttpContent(new TestEvent("message.delivered", new TestData("m1")), "msg_10", DateTimeOffset.UtcNow, JsonSerializerOptions.Web);

        var response = await _http.PostAsync("/hooks/endpoint", content);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var webhook = Assert.Single(_received);
        Assert.Equal("msg_10", webhook.Id);
        Assert.Equal("m1", webhook.GetPayload(TestPayloadJson.Default.TestEvent)!.Data.Id);
    }

    [Fact]
    public async Task A_changed_body_is_answered_401_problem_and_never_reaches_the_handler()
    {
        var now = DateTimeOffset.UtcNow;
        var signature = new StandardWebhook(Secret).Sign("msg_11", now, """{"type":"a"}""");
        using var request = Signed("/hooks/endpoint", "msg_11", now, signature, """{"type":"b"}""");

        var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("No webhook signature matches.", problem.GetProperty("detail").GetString());
        Assert.Empty(_received);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_answered_413_before_it_is_read()
    {
        var body = new string('x', MailGatewayWebhookExtensions.MaxBodyBytes + 1);
        var now = DateTimeOffset.UtcNow;
        using var request = Signed("/hooks/endpoint", "msg_12", now, new StandardWebhook(Secret).Sign("msg_12", now, body), body);

        var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(_received);
    }

    [Fact]
    public async Task One_call_in_an_endpoint_returns_the_verified_body_and_the_typed_overload_its_payload()
    {
        const string body = """{"type":"message.failed","data":{"id":"m7"}}""";
        var now = DateTimeOffset.UtcNow;
        var signature = new StandardWebhook(Secret).Sign("msg_13", now, body);
        using var plain = Signed("/hooks/one-call", "msg_13", now, signature, body);
        using var typed = Signed("/hooks/typed", "msg_13", now, signature, body);

        var plainAnswer = await (await _http.SendAsync(plain)).Content.ReadAsStringAsync();
        var typedAnswer = await (await _http.SendAsync(typed)).Content.ReadAsStringAsync();

        Assert.Equal("msg_13 " + body, plainAnswer);
        Assert.Equal("msg_13 message.failed m7", typedAnswer);
    }

    private static HttpRequestMessage Signed(string path, string id, DateTimeOffset timestamp, string signature, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", WebhookVerifierTests.Seconds(timestamp));
        request.Headers.Add("webhook-signature", signature);
        return request;
    }
}

public sealed record TestEvent(string Type, TestData Data);

public sealed record TestData(string Id);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(TestEvent))]
internal sealed partial class TestPayloadJson : JsonSerializerContext;
