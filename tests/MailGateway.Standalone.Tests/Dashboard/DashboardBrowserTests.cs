using System.Net;
using System.Text.Json;
using MailGateway.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace MailGateway.Standalone.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (headless Debian chromium through Playwright) against a real gateway, relay and
/// SQLite queue. Screenshots of the main pages are saved under TestResults/dashboard-screenshots.
/// </summary>
public sealed class DashboardBrowserTests(DashboardBrowser fixture) : IClassFixture<DashboardBrowser>
{
    private const string HostileSubject = "Invoice <script>window.__pwned = 1</script> & <b>bold</b>";

    private async Task<string> SendAsync(string to, object? extra = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["from"] = new { address = "app@example.com", name = "App <script>" },
            ["to"] = new[] { to },
            ["subject"] = HostileSubject,
            ["text"] = "Hello from the browser test.\nSecond line.",
            ["html"] = "<h1 id=\"greeting\">Hello</h1><p>HTML part</p><script>document.getElementById('greeting').textContent = 'script ran'; parent.document.title = 'pwned';</script><img src=\"http://203.0.113.9/track.png\" alt=\"tracker\">",
            ["tags"] = new[] { "browser-test" },
            ["attachments"] = new[] { new { filename = "report.txt", contentType = "text/plain", content = Convert.ToBase64String("attached text"u8.ToArray()) } },
        };
        if (extra is not null)
        {
            foreach (var p in JsonSerializer.SerializeToElement(extra).EnumerateObject())
            {
                body[p.Name] = p.Value;
            }
        }

        var (response, json) = await fixture.Host.PostAsync(body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, json.ToString());
        return json.GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task An_admin_signs_in_finds_a_sent_message_by_recipient_and_opens_its_page()
    {
        var recipient = $"find-{Guid.NewGuid():N}@example.net";
        var id = await SendAsync(recipient);
        await fixture.Host.WaitForStatusAsync(id, "delivered");
        var page = await fixture.NewPageAsync();

        await DashboardBrowser.SignInAsync(page, OperatorKeys.Admin);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Messages", Level = 1 })).ToBeVisibleAsync();
        await page.GetByLabel("Recipient").FillAsync(recipient);
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        var rows = page.Locator("#messages tbody tr");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToContainTextAsync("delivered");
        await DashboardBrowser.ScreenshotAsync(page, "messages");
        await page.GetByRole(AriaRole.Link, new() { Name = id }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Message {id}" })).ToBeVisibleAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("delivered");
        var attempt = page.Locator("#attempts tbody tr").First;
        await Expect(attempt).ToContainTextAsync(fixture.Relay.Port(RelayEndpointKind.StartTls).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(attempt).ToContainTextAsync("Tls");
        await Expect(attempt).ToContainTextAsync("250");
        await Expect(page.Locator("#recipients")).ToContainTextAsync(recipient);
        await Expect(page.Locator("#events")).ToContainTextAsync("accepted");
        // The attacker-controlled subject is text, not markup: its script did not run and no <b> element was made.
        await Expect(page.Locator("#subject")).ToHaveTextAsync(HostileSubject);
        Assert.Equal(0, await page.Locator("#subject b").CountAsync());
        Assert.Null(await page.EvaluateAsync<int?>("() => window.__pwned"));
        await Expect(page.Locator("#text-body")).ToContainTextAsync("Second line.");
        await Expect(page.Locator("#attachments")).ToContainTextAsync("report.txt");
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "report.txt" }).ClickAsync());
        Assert.Equal("attached text", await File.ReadAllTextAsync((await download.PathAsync())!));
        await DashboardBrowser.ScreenshotAsync(page, "message");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("signed out");
        await page.GotoAsync($"/ui/messages/{id}");
        Assert.Contains("/ui/sign-in", page.Url, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_html_part_is_shown_in_a_sandboxed_iframe_where_its_script_does_not_run()
    {
        var id = await SendAsync($"html-{Guid.NewGuid():N}@example.net");
        await fixture.Host.WaitForStatusAsync(id, "delivered");
        var page = await fixture.NewPageAsync();
        await DashboardBrowser.SignInAsync(page, OperatorKeys.Admin);

        await page.GotoAsync($"/ui/messages/{id}");

        var iframe = page.Locator("iframe#html-body");
        Assert.Equal("", await iframe.GetAttributeAsync("sandbox"));
        var frame = page.FrameLocator("iframe#html-body");
        // The HTML is there (the frame loaded) and the script that would have changed it did not run.
        await Expect(frame.Locator("#greeting")).ToHaveTextAsync("Hello");
        await Expect(frame.Locator("p")).ToHaveTextAsync("HTML part");
        Assert.NotEqual("pwned", await page.TitleAsync());

        // Opened on its own (no iframe), the body's own CSP still blocks the script.
        var direct = await page.Context.NewPageAsync();
        var response = await direct.GotoAsync($"/ui/messages/{id}/body.html");
        Assert.NotNull(response);
        var csp = await response.HeaderValueAsync("content-security-policy");
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("sandbox", csp, StringComparison.Ordinal);
        await Expect(direct.Locator("#greeting")).ToHaveTextAsync("Hello");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_dead_letter_is_replayed_and_delivered_and_another_is_purged()
    {
        var replayed = await SendAsync($"reject-replay-{Guid.NewGuid():N}@example.net");
        var purged = await SendAsync($"reject-purge-{Guid.NewGuid():N}@example.net");
        await fixture.Host.WaitForStatusAsync(replayed, "failed");
        await fixture.Host.WaitForStatusAsync(purged, "failed");
        var page = await fixture.NewPageAsync();
        await DashboardBrowser.SignInAsync(page, OperatorKeys.Admin);

        await page.GotoAsync("/ui/dead-letters");
        var replayRow = page.Locator("#dead-letters tbody tr", new() { HasText = replayed });
        var purgeRow = page.Locator("#dead-letters tbody tr", new() { HasText = purged });
        await Expect(replayRow).ToContainTextAsync("5.7.1 Refused by policy");
        await DashboardBrowser.ScreenshotAsync(page, "dead-letters");
        fixture.Refuse = false;
        try
        {
            await replayRow.GetByRole(AriaRole.Button, new() { Name = "Replay" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("back on the queue");
            await fixture.Host.WaitForStatusAsync(replayed, "delivered");
        }
        finally
        {
            fixture.Refuse = true;
        }

        await purgeRow.GetByRole(AriaRole.Button, new() { Name = "Purge" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("removed");
        await Expect(page.Locator("#dead-letters tbody tr", new() { HasText = purged })).ToHaveCountAsync(0);
        var list = await GatewayHost.ReadAsync(await OperatorKeys.Client(fixture.Host, OperatorKeys.Admin).GetAsync("/api/v1/dead-letters"));
        Assert.DoesNotContain(list.GetProperty("items").EnumerateArray(), i => i.GetProperty("messageId").GetString() is { } m && (m == purged || m == replayed));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_scheduled_message_is_canceled_from_its_page()
    {
        var id = await SendAsync($"later-{Guid.NewGuid():N}@example.net", new { sendAt = DateTimeOffset.UtcNow.AddHours(2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) });
        var page = await fixture.NewPageAsync();
        await DashboardBrowser.SignInAsync(page, GatewayHost.AppKey);

        await page.GotoAsync($"/ui/messages/{id}");
        await Expect(page.Locator("#status")).ToHaveTextAsync("scheduled");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel this message" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("canceled");
        await Expect(page.Locator("#status")).ToHaveTextAsync("canceled");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel this message" })).ToHaveCountAsync(0);
        Assert.Equal("canceled", (await fixture.Host.StatusAsync(id)).GetProperty("status").GetString());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_wrong_key_and_a_send_only_key_are_refused_at_sign_in_and_no_page_opens_without_a_session()
    {
        var page = await fixture.NewPageAsync();

        await page.GotoAsync("/ui/sign-in");
        await page.GetByLabel("API key").FillAsync("not-a-key-of-this-gateway");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#sign-in-error")).ToContainTextAsync("not valid");
        await DashboardBrowser.ScreenshotAsync(page, "sign-in-refused");

        await page.GetByLabel("API key").FillAsync(OperatorKeys.SendOnly);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#sign-in-error")).ToContainTextAsync("no read scope");

        var response = await page.GotoAsync("/ui/messages");
        Assert.Contains("/ui/sign-in", page.Url, StringComparison.Ordinal);
        Assert.NotNull(response);
        Assert.Equal((int)HttpStatusCode.OK, response.Status);
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "mgw_dashboard");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_read_key_sees_only_its_own_messages_without_actions_and_not_the_queue()
    {
        var theirs = await SendAsync($"theirs-{Guid.NewGuid():N}@example.net", new { sendAt = DateTimeOffset.UtcNow.AddHours(2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) });
        var page = await fixture.NewPageAsync();
        await DashboardBrowser.SignInAsync(page, OperatorKeys.ReadOnly);

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Messages", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = theirs })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Navigation)).Not.ToContainTextAsync("Queue");
        var queue = await page.GotoAsync("/ui/queue");
        Assert.Equal(403, queue!.Status);
        var message = await page.GotoAsync($"/ui/messages/{theirs}");
        Assert.Equal(404, message!.Status);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_queue_page_shows_the_numbers_and_the_outcome_and_latency_charts()
    {
        var id = await SendAsync($"chart-{Guid.NewGuid():N}@example.net");
        await fixture.Host.WaitForStatusAsync(id, "delivered");
        var page = await fixture.NewPageAsync();
        await DashboardBrowser.SignInAsync(page, OperatorKeys.Admin);

        await page.GotoAsync("/ui/queue");

        await Expect(page.Locator("#queue-numbers")).ToContainTextAsync("In flight");
        await Expect(page.Locator("#outcomes-chart rect.delivered").First).ToBeVisibleAsync();
        Assert.True(await page.Locator("#latency-chart rect.delivered").CountAsync() >= 1);
        await Expect(page.Locator("#outcomes-desc")).Not.ToContainTextAsync("In total 0 delivered");
        await DashboardBrowser.ScreenshotAsync(page, "queue");
        await page.Context.CloseAsync();
    }
}
