using MailGateway.Testing;
using Microsoft.Playwright;
using SmtpServer.Protocol;

namespace MailGateway.Standalone.Tests.Dashboard;

/// <summary>
/// One gateway (real relay that refuses <c>reject@</c> recipients while <see cref="Refuse"/> is set, the operator keys)
/// and one headless Debian chromium driven by Playwright (<c>ExecutablePath</c>: no browser download), shared by the
/// browser tests of a class; every test opens its own browser context, so cookies never leak between tests.
/// </summary>
public sealed partial class DashboardBrowser : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private volatile bool _refuse = true;
    private IPlaywright? _playwright;

    internal TestRelay Relay { get; private set; } = null!;

    internal GatewayHost Host { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public bool Refuse
    {
        get => _refuse;
        set => _refuse = value;
    }

    public Uri BaseAddress => Host.Client.BaseAddress!;

    /// <summary>Where the screenshots go: TestResults/dashboard-screenshots at the repository root (the CI's results folder).</summary>
    public static string ScreenshotFolder => RepositoryRoot.Combine("TestResults", "dashboard-screenshots");

    public async Task InitializeAsync()
    {
        Relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            RcptReply = to => _refuse && to.StartsWith("reject", StringComparison.Ordinal) ? new SmtpResponse(SmtpReplyCode.MailboxUnavailable, "5.7.1 Refused by policy") : null,
        });
        Host = await GatewayHost.StartAsync(Relay, settings =>
        {
            OperatorKeys.Configure(settings);
            // The message page shows the stored content: keep it after delivery.
            settings["MailGateway:Delivery:DeleteContentAfterDelivery"] = "false";
        });
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
        Directory.CreateDirectory(ScreenshotFolder);
    }

    /// <summary>A fresh browser context (its own cookies) and page on the gateway.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(15_000);
        return await context.NewPageAsync();
    }

    /// <summary>Signs in through the form with <paramref name="key"/>.</summary>
    public static async Task SignInAsync(IPage page, string key)
    {
        await page.GotoAsync("/ui/sign-in");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        // Not WaitForURLAsync: after the navigation it waits for the page's "load" event on the client side and
        // can miss one that fires between the two (Playwright .NET's Frame.WaitForNavigationInternalAsync): then it
        // times out with only '"NetworkIdle" event fired' in its log, as a CI run did. The web-first assertion polls
        // the URL and needs no event.
        await Assertions.Expect(page).Not.ToHaveURLAsync(SignInUrl(), new() { Timeout = 15_000 });
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        if (Relay is not null)
        {
            await Relay.DisposeAsync();
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("/ui/sign-in")]
    private static partial System.Text.RegularExpressions.Regex SignInUrl();
}
