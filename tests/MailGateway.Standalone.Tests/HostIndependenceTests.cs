using System.Text;
using System.Text.Json;
using MailGateway.Api;
using MailGateway.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// The shared API called the way the Functions host calls it: with a bare <see cref="HttpContext"/> (no Kestrel, no
/// routing, no request-size feature), executing the returned <see cref="IResult"/> — same answers as over HTTP.
/// </summary>
public sealed class HostIndependenceTests : IAsyncLifetime
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

    [Theory]
    [InlineData("valid", 202)]
    [InlineData("invalid", 400)]
    [InlineData("no-key", 401)]
    [InlineData("other-domain", 403)]
    [InlineData("too-large", 413)]
    [InlineData("form", 415)]
    public async Task A_bare_HttpContext_gets_the_same_answer_as_the_standalone_endpoint(string scenario, int expected)
    {
        var (body, contentType, key) = Scenario(scenario);
        var direct = await InvokeDirectlyAsync(body, contentType, key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        request.Headers.Authorization = key is null ? null : new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using var client = new HttpClient { BaseAddress = _host.Client.BaseAddress };
        var overHttp = await client.SendAsync(request);
        var httpBody = await GatewayHost.ReadAsync(overHttp);

        Assert.Equal(expected, direct.Status);
        Assert.Equal(expected, (int)overHttp.StatusCode);
        Assert.Equal(overHttp.Content.Headers.ContentType!.MediaType, direct.ContentType.Split(';')[0]);
        if (expected == 202)
        {
            Assert.Equal("queued", direct.Body.GetProperty("status").GetString());
            Assert.Equal($"/api/v1/messages/{direct.Body.GetProperty("id").GetString()}", direct.Location);
        }
        else
        {
            Assert.Equal(Codes(httpBody), Codes(direct.Body));
            Assert.Equal(httpBody.GetProperty("title").GetString(), direct.Body.GetProperty("title").GetString());
        }
    }

    private static (byte[] Body, string ContentType, string? Key) Scenario(string name)
    {
        byte[] Json(object o) => JsonSerializer.SerializeToUtf8Bytes(o);
        return name switch
        {
            "valid" => (Json(GatewayHost.Message()), "application/json", GatewayHost.AppKey),
            "invalid" => (Json(new { from = "app@example.com", to = new[] { "nope" } }), "application/json", GatewayHost.AppKey),
            "no-key" => (Json(GatewayHost.Message()), "application/json", null),
            "other-domain" => (Json(new { from = "app@example.org", to = new[] { "a@example.net" }, text = "x" }), "application/json", GatewayHost.AppKey),
            "too-large" => (Json(new { from = "app@example.com", to = new[] { "a@example.net" }, text = new string('x', 70_000) }), "application/json", GatewayHost.AppKey),
            _ => ("a=b"u8.ToArray(), "application/x-www-form-urlencoded", GatewayHost.AppKey),
        };
    }

    private async Task<(int Status, string ContentType, string? Location, JsonElement Body)> InvokeDirectlyAsync(byte[] body, string contentType, string? key)
    {
        using var scope = _host.Services.CreateScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = "POST";
        context.Request.Path = "/api/v1/messages";
        context.Request.ContentType = contentType;
        context.Request.ContentLength = body.Length;
        context.Request.Body = new MemoryStream(body);
        if (key is not null)
        {
            context.Request.Headers.Authorization = "Bearer " + key;
        }

        using var responseBody = new MemoryStream();
        context.Response.Body = responseBody;

        var result = await scope.ServiceProvider.GetRequiredService<MessagesApi>().SendAsync(context);
        await result.ExecuteAsync(context);

        var text = Encoding.UTF8.GetString(responseBody.ToArray());
        return (context.Response.StatusCode, context.Response.ContentType ?? "", context.Response.Headers.Location.ToString() is { Length: > 0 } l ? l : null,
            JsonDocument.Parse(text).RootElement.Clone());
    }

    private static List<string?> Codes(JsonElement problem) =>
        problem.TryGetProperty("errors", out var errors) ? [.. errors.EnumerateArray().Select(e => e.GetProperty("code").GetString())] : [];
}
