using System.Net;
using System.Text.Json;
using MailGateway.Testing;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// Every request body that once crashed or hung the API (tests/MailGateway.Standalone.Tests/Regressions/*.json, found by
/// the property tests or the fuzzers, minimised) is posted through the real host: a 2xx, or a 4xx problem with field
/// errors, never a 5xx.
/// </summary>
public sealed class RegressionInputTests : IAsyncLifetime
{
    private GatewayHost _host = null!;

    public async Task InitializeAsync() => _host = await GatewayHost.StartAsync(null, s => s["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    public static TheoryData<string> Inputs()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(RepositoryRoot.Combine("tests", "MailGateway.Standalone.Tests", "Regressions"), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task A_body_that_once_failed_the_API_gets_a_2xx_or_a_4xx_with_field_errors(string file)
    {
        var body = await File.ReadAllBytesAsync(RepositoryRoot.Combine("tests", "MailGateway.Standalone.Tests", "Regressions", file));
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await _host.Client.PostAsync("/api/v1/messages", content);

        var status = (int)response.StatusCode;
        Assert.True(status is >= 200 and < 500, $"{file}: HTTP {status}: {await response.Content.ReadAsStringAsync()}");
        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.NotEmpty(problem.RootElement.GetProperty("errors").EnumerateArray());
        }
    }

    [Fact]
    public async Task A_content_id_that_MimeKit_refuses_or_rewrites_is_a_field_error()
    {
        foreach (var contentId in new[] { ".", "a.", "a@.b", "\"", "(a)", "a@[b", "a@@b", "a@b." })
        {
            var (response, body) = await _host.PostAsync(new
            {
                from = "app@example.com",
                to = new[] { "rcpt@example.net" },
                text = "x",
                attachments = new object[] { new { filename = "a.png", contentType = "image/png", content = "AAAA", contentId } },
            });

            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"content-id {contentId}: HTTP {(int)response.StatusCode}");
            var error = Assert.Single(body.GetProperty("errors").EnumerateArray());
            Assert.Equal("attachments[0].contentId", error.GetProperty("field").GetString());
            Assert.Equal("invalid_content_id", error.GetProperty("code").GetString());
        }
    }
}
