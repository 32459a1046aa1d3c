using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MailGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// Abuse of the API: guessing keys from one address and flooding with one key get 429 problems with Retry-After
/// (MailGateway:RateLimits), and keys come from <c>create-api-key</c> rather than being made up.
/// </summary>
public sealed class RateLimitTests
{
    private static async Task<(HttpStatusCode Status, HttpResponseMessage Response)> PostAsync(GatewayHost host, string key, string path = "/api/v1/messages")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = GatewayHost.Json(GatewayHost.Message()) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var response = await host.Client.SendAsync(request);
        return (response.StatusCode, response);
    }

    private static async Task AssertTooManyAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.True(retryAfter > TimeSpan.Zero, $"Retry-After is {retryAfter}");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(429, body.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("Too many requests", body.RootElement.GetProperty("title").GetString());
        Assert.Contains("Retry after", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Five_hundred_wrong_keys_from_one_address_get_429_with_Retry_After_after_the_limit_and_a_valid_key_still_works()
    {
        // An hour's window: every request of the test falls into the first one.
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, s =>
        {
            s["MailGateway:RateLimits:FailedAuthPerAddress"] = "20";
            s["MailGateway:RateLimits:FailedAuthWindow"] = "01:00:00";
        });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 500; i++)
        {
            var (status, response) = await PostAsync(host, "wrong-key-" + i);
            statuses.Add(status);
            if (status == HttpStatusCode.TooManyRequests && (i == 20 || i == 499))
            {
                await AssertTooManyAsync(response);
            }

            response.Dispose();
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 20).Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 480)), statuses);

        // The status endpoint is limited the same way (every /api path), health is not.
        using (var get = new HttpRequestMessage(HttpMethod.Get, "/api/v1/messages/0123"))
        {
            get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-key");
            using var response = await host.Client.SendAsync(get);
            await AssertTooManyAsync(response);
        }

        using (var health = await host.Client.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        // Guessing from this address does not lock out the key holder on it.
        var (ok, accepted) = await PostAsync(host, GatewayHost.AppKey);
        accepted.Dispose();
        Assert.Equal(HttpStatusCode.Accepted, ok);
    }

    [Fact]
    public async Task Requests_per_key_are_limited_with_429_and_Retry_After_and_other_keys_go_on()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, s =>
        {
            s["MailGateway:RateLimits:PerKeyBurst"] = "5";
            s["MailGateway:RateLimits:PerKeyRate"] = "1";
            s["MailGateway:RateLimits:PerKeyPeriod"] = "01:00:00";
        });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            var (status, response) = await PostAsync(host, GatewayHost.AppKey);
            statuses.Add(status);
            if (status == HttpStatusCode.TooManyRequests)
            {
                await AssertTooManyAsync(response);
                Assert.True(response.Headers.RetryAfter!.Delta >= TimeSpan.FromMinutes(59), $"Retry-After {response.Headers.RetryAfter}");
            }

            response.Dispose();
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Accepted, 5).Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 3)), statuses);

        // Every /api endpoint counts against the key: a status query is refused too.
        using (var status = await host.Client.GetAsync("/api/v1/messages/0123"))
        {
            await AssertTooManyAsync(status);
        }

        using var otherRequest = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages")
        {
            Content = GatewayHost.Json(new { from = "app@x.other.example", to = new[] { "rcpt@example.net" }, subject = "s", text = "t" }),
        };
        otherRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", GatewayHost.OtherKey);
        using var other = await host.Client.SendAsync(otherRequest);
        Assert.Equal(HttpStatusCode.Accepted, other.StatusCode);
    }

    [Theory]
    [InlineData("FailedAuthPerAddress", "0")]
    [InlineData("FailedAuthWindow", "00:00:00")]
    [InlineData("PerKeyBurst", "0")]
    [InlineData("PerKeyRate", "-1")]
    [InlineData("PerKeyPeriod", "00:00:00.001")]
    public async Task A_bad_rate_limit_setting_stops_the_host_naming_it(string name, string value)
    {
        var settings = GatewayHost.Settings(null, GatewayHost.NewDataDirectory());
        settings["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["MailGateway:RateLimits:" + name] = value;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.AddStandaloneGateway();
        await using var app = builder.Build();
        app.MapStandaloneGateway();

        var error = await Record.ExceptionAsync(() => app.StartAsync());

        var invalid = Assert.IsType<OptionsValidationException>(error);
        var message = StandaloneHostExtensions.Describe(invalid);
        Assert.StartsWith("Invalid configuration in MailGateway:RateLimits: ", message, StringComparison.Ordinal);
        Assert.Contains(name, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_create_api_key_prints_authenticates_against_a_host_configured_with_its_printed_settings()
    {
        var (exit, output, _) = await RunCommandAsync("create-api-key", "--id", "myapp", "--domain", "example.com");
        Assert.Equal(0, exit);
        var lines = output.Split('\n', StringSplitOptions.TrimEntries);
        var key = Assert.Single(lines, l => l.StartsWith("mgw_", StringComparison.Ordinal));
        Assert.Matches("^mgw_[A-Za-z0-9_-]{43}$", key);
        Assert.DoesNotContain(key, string.Join('\n', lines.Where(l => l != key)), StringComparison.Ordinal);

        // The environment variables as printed, given to the host the way a service manager would.
        var environment = lines.Where(l => l.StartsWith("MailGateway__Api__Keys__", StringComparison.Ordinal))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => (string?)p[1]);
        Assert.Equal(3, environment.Count);
        var data = GatewayHost.NewDataDirectory();
        try
        {
            using var gateway = await GatewayProcess.StartAsync(Path.GetTempPath(), GatewayHost.SubmissionOnFreePorts(new Dictionary<string, string?>
            {
                ["urls"] = "http://127.0.0.1:0",
                ["MailGateway:Storage:DataDirectory"] = data,
                ["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            }), environment);
            using var client = new HttpClient { BaseAddress = gateway.BaseAddress };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = GatewayHost.Json(GatewayHost.Message()) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var accepted = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            using var wrong = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = GatewayHost.Json(GatewayHost.Message()) };
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key[..^1]);
            using var refused = await client.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.DoesNotContain("Dev API key", gateway.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Create_api_key_prints_a_new_key_each_time_and_the_same_settings_on_the_command_line()
    {
        var first = await RunCommandAsync("create-api-key", "--id", "billing", "--domain", "example.com", "--scope", "send", "--index", "2");
        var second = await RunCommandAsync("create-api-key", "--id=billing", "--domain=example.com");

        Assert.Equal(0, first.Exit);
        Assert.Equal(0, second.Exit);
        string KeyOf(string output) => output.Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith("mgw_", StringComparison.Ordinal));
        Assert.NotEqual(KeyOf(first.Output), KeyOf(second.Output));
        var hash = MailGateway.Core.Keys.ApiKeyVerifier.HashKey(KeyOf(first.Output));
        Assert.Contains($"MailGateway__Api__Keys__2__Sha256={hash}", first.Output, StringComparison.Ordinal);
        Assert.Contains($"--MailGateway:Api:Keys:2:Id=billing --MailGateway:Api:Keys:2:Sha256={hash} --MailGateway:Api:Keys:2:AllowedSenderDomains:0=example.com --MailGateway:Api:Keys:2:Scopes:0=send", first.Output, StringComparison.Ordinal);
        Assert.Contains($"{{ \"Id\": \"billing\", \"Sha256\": \"{hash}\", \"AllowedSenderDomains\": [\"example.com\"], \"Scopes\": [\"send\"] }}", first.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("create-api-key")]
    [InlineData("create-api-key", "--id")]
    [InlineData("create-api-key", "--id", "x", "--scope", "root")]
    [InlineData("create-api-key", "--id", "has space")]
    [InlineData("create-api-key", "--id", "x", "--bogus", "1")]
    public async Task Create_api_key_with_bad_arguments_exits_2_with_the_usage_and_prints_no_key(params string[] args)
    {
        var (exit, output, error) = await RunCommandAsync(args);

        Assert.Equal(2, exit);
        Assert.DoesNotContain("mgw_", output, StringComparison.Ordinal);
        Assert.StartsWith("create-api-key: ", error, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output, string Error)> RunCommandAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MailGateway.Standalone.dll"));
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return (process.ExitCode, (await output).Replace("\r\n", "\n", StringComparison.Ordinal), await error);
    }
}
