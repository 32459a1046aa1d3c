using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Text.RegularExpressions;
using MailGateway.Dashboard;
using MailGateway.Testing;

namespace MailGateway.Standalone.Tests.Dashboard;

/// <summary>What hostile or careless requests to the dashboard get, over plain HTTP against a real gateway with keys.</summary>
public sealed partial class DashboardHttpTests : IAsyncLifetime
{
    private GatewayHost _host = null!;

    public async Task InitializeAsync() => _host = await GatewayHost.StartAsync(null, settings =>
    {
        OperatorKeys.Configure(settings);
        settings["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["MailGateway:RateLimits:FailedAuthPerAddress"] = "5";
        settings["MailGateway:RateLimits:FailedAuthWindow"] = "00:10:00";
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private HttpClient NewBrowser() => new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() })
    {
        BaseAddress = _host.Client.BaseAddress,
    };

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    private static async Task<string> TokenAsync(HttpClient browser, string path)
    {
        var page = await browser.GetStringAsync(path);
        return TokenField().Match(page).Groups[1].Value;
    }

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)));

    private static async Task<HttpClient> SignedInAsync(HttpClient browser, string key)
    {
        var token = await TokenAsync(browser, "/ui/sign-in");
        var response = await browser.PostAsync("/ui/sign-in", Form(("__RequestVerificationToken", token), ("key", key)));
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/ui/messages", response.Headers.Location?.OriginalString);
        return browser;
    }

    [Fact]
    public async Task Without_a_session_every_page_redirects_to_sign_in_and_every_action_is_refused()
    {
        using var browser = NewBrowser();

        foreach (var path in new[] { "/ui/messages", "/ui/queue", "/ui/dead-letters", "/ui/mail", "/ui/messages/x", "/ui/messages/x/raw", "/ui/messages/x/body.html" })
        {
            var response = await browser.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.StartsWith("/ui/sign-in?return=", response.Headers.Location?.OriginalString, StringComparison.Ordinal);
        }

        var cancel = await browser.PostAsync("/ui/messages/x/cancel", Form(("a", "b")));
        Assert.Equal(HttpStatusCode.SeeOther, cancel.StatusCode);
        Assert.Equal("/ui/sign-in", cancel.Headers.Location?.OriginalString);
        // With keys configured there is no sign-in-less mode, even from loopback.
        Assert.False(_host.Services.GetRequiredService<DashboardAccess>().SignInOptional);
        Assert.Contains("/ui (sign in with an API key", StandaloneListenerTests.Banner(_host), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_without_its_antiforgery_token_or_as_json_or_too_large_is_refused_with_a_page()
    {
        using var browser = NewBrowser();
        await TokenAsync(browser, "/ui/sign-in");

        var noToken = await browser.PostAsync("/ui/sign-in", Form(("key", OperatorKeys.Admin)));
        var json = await browser.PostAsync("/ui/sign-in", new StringContent("{\"key\":\"x\"}", System.Text.Encoding.UTF8, "application/json"));
        var large = await browser.PostAsync("/ui/sign-in", Form(("key", new string('k', 20_000))));

        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        Assert.Contains("security token", await noToken.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        foreach (var response in new[] { noToken, json, large })
        {
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("   at ", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(browser.DefaultRequestHeaders, h => h.Key == "Cookie");
    }

    [Fact]
    public async Task Pages_carry_the_security_headers_and_the_session_cookie_is_httponly_and_samesite_strict()
    {
        using var browser = NewBrowser();
        var token = await TokenAsync(browser, "/ui/sign-in");
        var signIn = await browser.PostAsync("/ui/sign-in", Form(("__RequestVerificationToken", token), ("key", OperatorKeys.Admin)));
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith(DashboardAccess.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/ui", cookie, StringComparison.OrdinalIgnoreCase);

        var page = await browser.GetAsync("/ui/messages");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<html lang=\"en\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Bad_filters_unknown_parameters_and_unknown_paths_get_a_page_saying_what_is_wrong()
    {
        using var browser = await SignedInAsync(NewBrowser(), OperatorKeys.Admin);

        var status = await browser.GetAsync("/ui/messages?status=lost&since=yesterday&recipient=%3Cscript%3E");
        var unknown = await browser.GetAsync("/ui/messages?colour=red");
        var cursor = await browser.GetAsync("/ui/dead-letters?cursor=abc");
        var reason = await browser.GetAsync("/ui/dead-letters?reason=%3Cb%3E");
        var missing = await browser.GetAsync("/ui/no-such-page");
        var message = await browser.GetAsync("/ui/messages/" + new string('a', 65));
        var attachment = await browser.GetAsync("/ui/mail/..%2F..%2Fetc/raw");

        Assert.Equal(HttpStatusCode.BadRequest, status.StatusCode);
        var text = await status.Content.ReadAsStringAsync();
        Assert.Contains("status", text, StringComparison.Ordinal);
        Assert.Contains("since", text, StringComparison.Ordinal);
        Assert.Contains("recipient", text, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("colour", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, cursor.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, reason.StatusCode);
        Assert.DoesNotContain("<b>", await reason.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("text/html", missing.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, message.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, attachment.StatusCode);
    }

    [Fact]
    public async Task Sign_in_never_redirects_to_another_site()
    {
        foreach (var target in new[] { "//evil.example/ui/", "https://evil.example/", "/ui/\\evil.example", "/ui//evil.example" })
        {
            using var browser = NewBrowser();
            var token = await TokenAsync(browser, "/ui/sign-in");
            var response = await browser.PostAsync("/ui/sign-in?return=" + Uri.EscapeDataString(target), Form(("__RequestVerificationToken", token), ("key", OperatorKeys.Admin)));
            Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
            Assert.Equal("/ui/messages", response.Headers.Location?.OriginalString);
        }

        using var returning = NewBrowser();
        var back = await TokenAsync(returning, "/ui/sign-in");
        var queue = await returning.PostAsync("/ui/sign-in?return=" + Uri.EscapeDataString("/ui/queue"), Form(("__RequestVerificationToken", back), ("key", OperatorKeys.Admin)));
        Assert.Equal("/ui/queue", queue.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Sign_in_attempts_beyond_the_limit_from_one_address_get_429_with_retry_after()
    {
        using var browser = NewBrowser();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 7; i++)
        {
            var token = await TokenAsync(browser, "/ui/sign-in");
            last = await browser.PostAsync("/ui/sign-in", Form(("__RequestVerificationToken", token), ("key", "wrong-" + i)));
            statuses.Add(last.StatusCode);
        }

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.SeeOther));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        Assert.True(last!.Headers.RetryAfter is not null);
        Assert.Contains("Too many requests", await last.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_removed_key_ends_its_sessions()
    {
        using var browser = await SignedInAsync(NewBrowser(), OperatorKeys.Admin);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/ui/messages")).StatusCode);
        var keys = _host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<MailGateway.Core.Keys.ApiKeysOptions>>().CurrentValue;
        var ops = keys.Keys.Single(k => k.Id == "ops");
        var original = ops.Sha256;
        try
        {
            // A rotated key (same id, new hash): the cookie's fingerprint no longer matches.
            ops.Sha256 = MailGateway.Core.Keys.ApiKeyVerifier.HashKey("rotated-" + Guid.NewGuid());
            Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/ui/messages")).StatusCode);
        }
        finally
        {
            ops.Sha256 = original;
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://+:5080", false)]
    [InlineData("http://*:5080", false)]
    [InlineData("http://192.0.2.10:5080", false)]
    [InlineData("http://[::]:5080", false)]
    public void Only_loopback_addresses_count_as_a_loopback_bind(string url, bool loopback) =>
        Assert.Equal(loopback, DashboardAccess.IsLoopbackUrl(url));
}
