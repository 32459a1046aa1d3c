using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace MailGateway.Functions.Tests;

/// <summary>
/// The Azure host has no event log yet: its event routes answer 501 problem+json (never 404 or a bare 500), through the
/// same guard as every other trigger (nosniff, the rate limiter).
/// </summary>
public sealed class FunctionsEventsTests
{
    [Fact]
    public async Task The_event_and_webhook_routes_answer_501_problem_json()
    {
        await using var api = await ApiHarness.StartAsync();
        foreach (var (call, path) in new (Func<HttpRequest, Task<IResult>> Call, string Path)[]
                 {
                     (request => api.Functions.ListEventsAsync(request), "/api/v1/events"),
                     (request => api.Functions.ListMessageEventsAsync(request, "m1"), "/api/v1/messages/m1/events"),
                     (request => api.Functions.ListWebhooksAsync(request), "/api/v1/webhooks"),
                     (request => api.Functions.CreateWebhookAsync(request), "/api/v1/webhooks"),
                     (request => api.Functions.GetWebhookAsync(request, "wh_1"), "/api/v1/webhooks/wh_1"),
                     (request => api.Functions.UpdateWebhookAsync(request, "wh_1"), "/api/v1/webhooks/wh_1"),
                     (request => api.Functions.DeleteWebhookAsync(request, "wh_1"), "/api/v1/webhooks/wh_1"),
                     (request => api.Functions.RotateWebhookSecretAsync(request, "wh_1"), "/api/v1/webhooks/wh_1/rotate-secret"),
                 })
        {
            var context = new DefaultHttpContext { RequestServices = api.Services };
            context.Request.Method = "GET";
            context.Request.Path = path;
            context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
            using var body = new MemoryStream();
            context.Response.Body = body;

            var result = await call(context.Request);
            await result.ExecuteAsync(context);

            Assert.Equal(501, context.Response.StatusCode);
            Assert.Equal("application/problem+json", context.Response.ContentType);
            Assert.Equal("nosniff", context.Response.Headers.XContentTypeOptions.ToString());
            using var problem = JsonDocument.Parse(body.ToArray());
            Assert.Equal(501, problem.RootElement.GetProperty("status").GetInt32());
        }
    }
}
