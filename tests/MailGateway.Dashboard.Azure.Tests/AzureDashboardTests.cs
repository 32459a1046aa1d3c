using System.Net;
using System.Text.RegularExpressions;
using Azure.Messaging.ServiceBus;
using MailGateway.Core.Status;
using MailGateway.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace MailGateway.Dashboard.Azure.Tests;

/// <summary>The Azure dashboard app over HTTP: sign-in is always required, what Azure cannot show is said on the page.</summary>
public sealed partial class AzureDashboardHttpTests
{
    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    [GeneratedRegex("<title id=\"latency-title\">Delivered messages by latency: ([^<]*)</title>")]
    private static partial Regex LatencyTitle();

    [GeneratedRegex(": (\\d+)")]
    private static partial Regex BarCount();

    [GeneratedRegex("<table class=\"list\" id=\"due\">.*?</table>", RegexOptions.Singleline)]
    private static partial Regex DueTable();

    [GeneratedRegex("<td>([^<]*)</td>")]
    private static partial Regex Cell();

    /// <summary>The value of the queue tile <paramref name="label"/> (a link's text for the dead letters).</summary>
    private static string Tile(string page, string label)
    {
        var match = Regex.Match(page, $"<dt>{Regex.Escape(label)}</dt><dd[^>]*>(?:<a [^>]*>)?([^<]*)<", RegexOptions.None, TimeSpan.FromSeconds(1));
        Assert.True(match.Success, $"no tile '{label}'");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    private static List<string> DueIn(string page) =>
        [.. Cell().Matches(DueTable().Match(page).Value).Select(m => m.Groups[1].Value)];

    private static async Task<HttpClient> SignedInAsync(AzureDashboardHost host, string key)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = host.BaseAddress };
        var form = await client.GetStringAsync("/ui/sign-in");
        var token = TokenField().Match(form).Groups[1].Value;
        using var signIn = await client.PostAsync("/ui/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token),
            ["key"] = key,
        }));
        Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
        Assert.Equal("/ui/messages", signIn.Headers.Location?.OriginalString);
        return client;
    }

    [Fact]
    public async Task A_request_from_loopback_without_a_key_must_sign_in_and_a_send_only_or_wrong_key_is_refused()
    {
        await using var host = await AzureDashboardHost.StartAsync();
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = host.BaseAddress };

        using var page = await anonymous.GetAsync("/ui/messages");
        var form = await anonymous.GetStringAsync("/ui/sign-in");
        var token = WebUtility.HtmlDecode(TokenField().Match(form).Groups[1].Value);
        using var wrong = await anonymous.PostAsync("/ui/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["key"] = "not-a-key" }));
        using var sendOnly = await anonymous.PostAsync("/ui/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["key"] = AzureDashboardHost.SendOnlyKey }));
        using var forged = await anonymous.PostAsync("/ui/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = AzureDashboardHost.AdminKey }));

        Assert.NotEqual(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("sign-in", page.Headers.Location?.OriginalString ?? await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("/ui/sign-in?failed=invalid_key", wrong.Headers.Location?.OriginalString);
        Assert.Equal("/ui/sign-in?failed=no_read_scope", sendOnly.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode); // No antiforgery token.
    }

    [Fact]
    public async Task The_queue_page_charts_the_feed_says_what_Azure_cannot_show_and_a_reader_sees_only_its_own_messages()
    {
        await using var host = await AzureDashboardHost.StartAsync();
        var own = await host.DeliveredAsync("reader", "Mine");
        var other = await host.DeliveredAsync("ops", "Not mine");
        await host.DeadLetterAsync("ops");
        using var admin = await SignedInAsync(host, AzureDashboardHost.AdminKey);
        using var reader = await SignedInAsync(host, AzureDashboardHost.ReaderKey);

        // Every key's outcomes, from the event feed once it serves them (EventFeedSettle after the change).
        var queue = await Poll.UntilAsync(() => admin.GetStringAsync("/ui/queue"),
            page => page.Contains("In total 2 delivered, 0 deferred, 1 failed or expired.", StringComparison.Ordinal), page => "the chart says " + page.Length);
        using var mail = await admin.GetAsync("/ui/mail");
        var list = await reader.GetStringAsync("/ui/messages");
        using var foreign = await reader.GetAsync($"/ui/messages/{other}");
        using var readerQueue = await reader.GetAsync("/ui/queue");

        Assert.Contains("Messages by status are not available on the Azure deployment", queue, StringComparison.Ordinal);
        Assert.Contains("id=\"states-unavailable\"", queue, StringComparison.Ordinal);
        Assert.Equal("1", Tile(queue, "Dead letters"));
        Assert.Equal("0", Tile(queue, "Jobs in the queue"));
        Assert.Contains("id=\"outcomes-chart\"", queue, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"charts-unavailable\"", queue, StringComparison.Ordinal);
        // Both delivered messages were accepted in the window: each is in one latency bar (which one depends on how
        // long Azurite took between the create and the delivered change, over a second on a loaded CI machine).
        var latency = LatencyTitle().Match(queue);
        Assert.True(latency.Success, "no latency chart title");
        Assert.Equal(2, BarCount().Matches(latency.Groups[1].Value).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(HttpStatusCode.NotFound, mail.StatusCode);
        Assert.Contains("no capture mode", await mail.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(own, list, StringComparison.Ordinal);
        Assert.DoesNotContain(other, list, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, readerQueue.StatusCode);
    }


    [Fact]
    public async Task The_queue_page_shows_the_Service_Bus_counts_the_next_attempts_the_oldest_job_and_the_dead_letters()
    {
        await using var host = await AzureDashboardHost.StartAsync();
        var now = host.BusClock.GetUtcNow();
        await host.QueuedAsync(now.AddHours(-2));
        await host.QueuedAsync(now);
        foreach (var due in new[] { TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromDays(1) })
        {
            await host.QueuedAsync(now + due);
        }

        await host.DeadLetterAsync("ops");
        // A job being delivered: Service Bus still counts it as active, so it stays in "due now".
        Assert.NotNull(await host.Bus.LeaseAsync(CancellationToken.None));
        using var admin = await SignedInAsync(host, AzureDashboardHost.AdminKey);

        using var response = await admin.GetAsync("/ui/queue");
        var queue = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("7", Tile(queue, "Jobs in the queue"));
        Assert.Equal("2", Tile(queue, "Due now"));
        Assert.Equal("not known (counted in due now)", Tile(queue, "In flight"));
        Assert.Equal("5", Tile(queue, "Waiting (scheduled or deferred)"));
        Assert.Equal("2 h old", Tile(queue, "Oldest job"));
        Assert.Equal("1", Tile(queue, "Dead letters"));
        Assert.Equal(["1", "1", "0", "1", "1", "1"], DueIn(queue));
        Assert.DoesNotContain("id=\"queue-examined\"", queue, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"queue-unavailable\"", queue, StringComparison.Ordinal);
        Assert.Contains("In flight is not known there", queue, StringComparison.Ordinal);
        Assert.Contains("id=\"outcomes-chart\"", queue, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_queue_page_says_when_its_next_attempts_come_from_part_of_the_queue()
    {
        await using var host = await AzureDashboardHost.StartAsync(new Dictionary<string, string?> { ["MailGateway:ServiceBus:QueuePeekLimit"] = "10" });
        var now = host.BusClock.GetUtcNow();
        for (var i = 0; i < 12; i++)
        {
            await host.QueuedAsync(now + TimeSpan.FromMinutes(30));
        }

        using var admin = await SignedInAsync(host, AzureDashboardHost.AdminKey);

        var queue = await admin.GetStringAsync("/ui/queue");

        Assert.Equal("12", Tile(queue, "Waiting (scheduled or deferred)"));
        Assert.Equal(["0", "0", "0", "10", "0", "0"], DueIn(queue));
        Assert.Contains("<p class=\"help\" id=\"queue-examined\">Next attempts and the oldest job are from the first 10 of 12 jobs", queue, StringComparison.Ordinal);
        Assert.Contains("a peek of at most 10 jobs per view", queue, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_or_failed_count_leaves_out_the_numbers_with_the_reason_and_keeps_the_charts()
    {
        await using var host = await AzureDashboardHost.StartAsync();
        await host.QueuedAsync(host.BusClock.GetUtcNow());
        // What the administration client throws on a 401 for an identity without the Manage claim.
        host.Bus.QueueMetricsFailWith = new UnauthorizedAccessException(
            "Unauthorized access. 'Manage' claim(s) are required to perform this operation. Resource: 'sb://test.servicebus.windows.net/outbound'. TrackingId:0f0e, SystemTracker:test");
        using var admin = await SignedInAsync(host, AzureDashboardHost.AdminKey);

        using var refused = await admin.GetAsync("/ui/queue");
        var refusedPage = await refused.Content.ReadAsStringAsync();
        host.Bus.QueueMetricsFailWith = new ServiceBusException("The server is busy.", ServiceBusFailureReason.ServiceBusy);
        using var failed = await admin.GetAsync("/ui/queue");
        var failedPage = await failed.Content.ReadAsStringAsync();
        host.Bus.QueueMetricsFailWith = null;
        var recovered = await admin.GetStringAsync("/ui/queue");

        Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
        Assert.Contains("<p id=\"queue-unavailable\">The queue&#x27;s numbers are missing: Service Bus refused", refusedPage, StringComparison.Ordinal);
        Assert.Contains("Grant the dashboard&#x27;s identity the &quot;Azure Service Bus Data Owner&quot; role on the queue", refusedPage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
        Assert.Contains("reading them from Service Bus failed (ServiceBusException;", failedPage, StringComparison.Ordinal);
        foreach (var page in new[] { refusedPage, failedPage })
        {
            Assert.DoesNotContain("id=\"queue-numbers\"", page, StringComparison.Ordinal);
            Assert.Contains("id=\"outcomes-chart\"", page, StringComparison.Ordinal);
            Assert.Contains("id=\"latency-chart\"", page, StringComparison.Ordinal);
            Assert.Contains("Messages by status are not available on the Azure deployment", page, StringComparison.Ordinal);
            Assert.DoesNotContain("claim(s)", page, StringComparison.Ordinal);
            Assert.DoesNotContain("The server is busy", page, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", page, StringComparison.Ordinal); // no stack trace
        }

        Assert.Equal("1", Tile(recovered, "Jobs in the queue"));
    }
}

/// <summary>
/// The Azure dashboard app in headless Debian chromium (Playwright with its executable path: no browser download): sign
/// in, find a message, open its page, replay a dead letter from the Service Bus sub-queue.
/// </summary>
public sealed class AzureDashboardBrowserTests
{
    private const string ChromiumPath = "/usr/bin/chromium";

    [Fact]
    public async Task An_operator_signs_in_finds_a_message_opens_its_page_and_replays_a_dead_letter()
    {
        await using var host = await AzureDashboardHost.StartAsync();
        var delivered = await host.DeliveredAsync("app", "Sent through Azure");
        var dead = await host.DeadLetterAsync("app");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = host.BaseAddress.ToString(), Locale = "en-GB", TimezoneId = "UTC" });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();

        await page.GotoAsync("/ui/sign-in");
        await page.GetByLabel("API key").FillAsync(AzureDashboardHost.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Messages", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.Locator("#messages tbody tr", new() { HasText = delivered })).ToContainTextAsync("delivered");
        await page.GetByRole(AriaRole.Link, new() { Name = delivered }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Message {delivered}" })).ToBeVisibleAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("delivered");
        await Expect(page.Locator("#subject")).ToHaveTextAsync("Sent through Azure");
        await Expect(page.Locator("#text-body")).ToContainTextAsync("Hello from Azure.");

        await page.GotoAsync("/ui/dead-letters");
        var row = page.Locator("#dead-letters tbody tr", new() { HasText = dead });
        await Expect(row).ToContainTextAsync("550 5.1.1 No such user");
        await row.GetByRole(AriaRole.Button, new() { Name = "Replay" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("back on the queue");

        var job = Assert.Single(host.Bus.Waiting);
        Assert.Equal(dead + "#2", job.MessageId);
        Assert.Empty(host.Bus.DeadLetters);
        Assert.Equal(MessageState.Deferred, (await host.Status.GetAsync(dead, CancellationToken.None))?.State);
        await page.GotoAsync("/ui/queue");
        await Expect(page.Locator("#unavailable")).ToContainTextAsync("not available on the Azure deployment");
        await Expect(page.Locator("#queue-numbers")).ToContainTextAsync("not known");
        await Expect(page.Locator("#outcomes-chart")).ToBeVisibleAsync();
    }
}
