using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Headers;
using MailGateway.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace MailGateway.Standalone.Tests.Dashboard;

/// <summary>
/// The development host: no key configured, loopback only, capture mode (no relay). The dashboard opens without a
/// sign-in from loopback and shows the captured mail; a request under another host name (DNS rebinding) must sign in.
/// </summary>
public sealed class DashboardCaptureTests : IAsyncLifetime
{
    private GatewayHost _host = null!;
    private HttpClient _api = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _host = await GatewayHost.StartAsync(null, settings =>
        {
            foreach (var key in settings.Keys.Where(k => k.StartsWith("MailGateway:Api:Keys:", StringComparison.Ordinal)).ToList())
            {
                settings.Remove(key);
            }

            settings["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        _api = new HttpClient { BaseAddress = _host.Client.BaseAddress };
        _api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _host.Services.GetRequiredService<DevApiKey>().Key);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = DashboardBrowser.ChromiumPath, Headless = true });
        Directory.CreateDirectory(DashboardBrowser.ScreenshotFolder);
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        _api.Dispose();
        await _host.DisposeAsync();
    }

    private async Task<string> SendAsync(string subject)
    {
        var response = await _api.PostAsync("/api/v1/messages", GatewayHost.Json(new
        {
            from = new { address = "app@example.com" },
            to = new[] { "someone@example.net" },
            subject,
            text = "Captured text",
            html = "<p id=\"p\">Captured <em>HTML</em></p><script>document.getElementById('p').textContent = 'script ran'</script>",
        }));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await GatewayHost.ReadAsync(response)).GetProperty("id").GetString()!;
    }

    private async Task WaitDeliveredAsync(string id) =>
        await Poll.UntilAsync(async () => (await GatewayHost.ReadAsync(await _api.GetAsync($"/api/v1/messages/{id}"))).GetProperty("status").GetString() == "delivered");

    [Fact]
    public async Task The_loopback_development_host_shows_captured_mail_without_sign_in_and_finds_it_by_message_id()
    {
        var id = await SendAsync("Captured <i>subject</i>");
        await WaitDeliveredAsync(id);
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = _host.Client.BaseAddress!.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();

        await page.GotoAsync("/ui/messages");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Messages", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.Locator("header")).ToContainTextAsync("no sign-in");
        await page.GetByRole(AriaRole.Link, new() { Name = "Captured mail" }).ClickAsync();
        var row = page.Locator("#mail tbody tr", new() { HasText = id + "@" });
        await Expect(row).ToHaveCountAsync(1);
        await DashboardBrowser.ScreenshotAsync(page, "captured-mail");
        await row.GetByRole(AriaRole.Link).First.ClickAsync();

        await Expect(page.Locator("#subject")).ToHaveTextAsync("Captured <i>subject</i>");
        await Expect(page.FrameLocator("iframe#html-body").Locator("#p")).ToContainTextAsync("Captured HTML");
        await Expect(page.Locator("#text-body")).ToContainTextAsync("Captured text");
        await DashboardBrowser.ScreenshotAsync(page, "captured-message");
        var captured = page.Url;

        // The outbound message's page links to the copy the capture received (its content was deleted after delivery).
        await page.GotoAsync($"/ui/messages/{id}");
        await page.Locator("#captured-copy").ClickAsync();
        Assert.Equal(captured, page.Url);
        // And the Message-ID finds it too.
        await page.GotoAsync("/ui/mail?messageId=" + Uri.EscapeDataString($"<{id}@example.com>"));
        Assert.Equal(captured, page.Url);
        await context.CloseAsync();
    }

    [Fact]
    public async Task A_request_under_another_host_name_must_sign_in_even_on_loopback()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _host.Client.BaseAddress };
        using var local = await client.GetAsync("/ui/messages");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ui/messages");
        request.Headers.Host = "rebound.example";
        using var rebound = await client.SendAsync(request);

        Assert.Contains($"Dashboard:      {_host.Client.BaseAddress!.ToString().TrimEnd('/')}/ui (no sign-in from this machine", StandaloneListenerTests.Banner(_host), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, rebound.StatusCode);
        Assert.StartsWith("/ui/sign-in", rebound.Headers.Location?.OriginalString, StringComparison.Ordinal);
    }
}
