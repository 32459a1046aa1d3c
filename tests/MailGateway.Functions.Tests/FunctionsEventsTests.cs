using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Functions.Tests;

/// <summary>The Azure host has no event log yet: its event routes answer 501 problem+json, never 404 or a bare 500.</summary>
public sealed class FunctionsEventsTests
{
    [Fact]
    public async Task The_event_routes_answer_501_problem_json()
    {
        var services = new ServiceCollection().AddLogging().BuildServiceProvider();
        foreach (var (result, path) in new[]
                 {
                     (MessagesFunctions.ListEvents(Request(services, "/api/v1/events")), "/api/v1/events"),
                     (MessagesFunctions.ListMessageEvents(Request(services, "/api/v1/messages/m1/events"), "m1"), "/api/v1/messages/m1/events"),
                 })
        {
            var context = Request(services, path).HttpContext;
            using var body = new MemoryStream();
            context.Response.Body = body;

            await result.ExecuteAsync(context);

            Assert.Equal(501, context.Response.StatusCode);
            Assert.Equal("application/problem+json", context.Response.ContentType);
            using var problem = JsonDocument.Parse(body.ToArray());
            Assert.Equal(501, problem.RootElement.GetProperty("status").GetInt32());
        }
    }

    private static HttpRequest Request(IServiceProvider services, string path)
    {
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = "GET";
        context.Request.Path = path;
        return context.Request;
    }
}
