namespace MailGateway.Functions.Tests;

/// <summary>
/// The rate limits are on in the Functions host too: its triggers go through the same limiter as the standalone
/// host's middleware and give the same 429; behind the Functions host the client address is the last
/// <c>X-Forwarded-For</c> entry.
/// </summary>
public sealed class FunctionsRateLimitTests
{
    private const string Path = "/api/v1/messages";
    private const string Valid = """{"from":{"address":"app@example.com"},"to":[{"address":"b@example.net"}],"subject":"Hi","text":"Hello"}""";

    private static Dictionary<string, string> Headers(string key, string? forwardedFor = null)
    {
        var headers = ApiHarness.Bearer(key);
        if (forwardedFor is not null)
        {
            headers["X-Forwarded-For"] = forwardedFor;
        }

        return headers;
    }

    private static void AssertTooMany(Answer answer)
    {
        Assert.Equal(429, answer.Status);
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.True(int.Parse(answer.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture) > 0, answer.RetryAfter);
        Assert.Contains("\"status\":429", answer.Body, StringComparison.Ordinal);
        Assert.Equal("nosniff", answer.ContentTypeOptions);
    }

    [Fact]
    public async Task Wrong_keys_from_one_address_get_the_same_429_with_Retry_After_from_the_triggers_and_the_middleware()
    {
        await using var api = await ApiHarness.StartAsync(new Dictionary<string, string?>
        {
            ["MailGateway:RateLimits:FailedAuthPerAddress"] = "4",
            ["MailGateway:RateLimits:FailedAuthWindow"] = "01:00:00",
        });

        // One budget for 127.0.0.1, whichever host answers.
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(401, (await api.ViaStandaloneAsync(HttpMethod.Post, Path, Valid, headers: Headers("guess" + i))).Status);
            Assert.Equal(401, (await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers("guess" + i))).Status);
        }

        var standalone = await api.ViaStandaloneAsync(HttpMethod.Post, Path, Valid, headers: Headers("guess"));
        var functions = await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers("guess"));
        AssertTooMany(functions);
        Assert.Equal(standalone, functions);
        AssertTooMany(await api.ViaFunctionsAsync(HttpMethod.Get, Path + "/0123", headers: Headers("guess")));

        // Health is not limited; a valid key from the same address still works.
        Assert.Equal(200, (await api.ViaFunctionsAsync(HttpMethod.Get, "/healthz")).Status);
        Assert.Equal(202, (await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers(ApiHarness.Key1))).Status);
    }

    [Fact]
    public async Task Behind_the_Functions_host_failed_authentication_counts_per_last_X_Forwarded_For_address()
    {
        await using var api = await ApiHarness.StartAsync(new Dictionary<string, string?>
        {
            ["MailGateway:RateLimits:FailedAuthPerAddress"] = "3",
            ["MailGateway:RateLimits:FailedAuthWindow"] = "01:00:00",
        });

        // App Service's front end appends "address:port"; what the client put in front of it does not count.
        for (var i = 0; i < 3; i++)
        {
            var spoofed = $"10.0.0.{i}, 203.0.113.7:5{i}000";
            Assert.Equal(401, (await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers("guess", spoofed))).Status);
        }

        AssertTooMany(await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers("guess", "10.9.9.9, 203.0.113.7:40000")));
        Assert.Equal(401, (await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers("guess", "198.51.100.2:6000"))).Status);
        Assert.Equal(401, (await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers("guess", "[2001:db8::1]:443"))).Status);
        Assert.Equal(401, (await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers("guess"))).Status);
    }

    [Fact]
    public async Task Requests_per_key_get_429_from_the_triggers_once_the_keys_bucket_is_empty_and_other_keys_go_on()
    {
        await using var api = await ApiHarness.StartAsync(new Dictionary<string, string?>
        {
            ["MailGateway:RateLimits:PerKeyBurst"] = "3",
            ["MailGateway:RateLimits:PerKeyRate"] = "1",
            ["MailGateway:RateLimits:PerKeyPeriod"] = "01:00:00",
        });

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(202, (await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers(ApiHarness.Key1))).Status);
        }

        var functions = await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers(ApiHarness.Key1));
        var standalone = await api.ViaStandaloneAsync(HttpMethod.Post, Path, Valid, headers: Headers(ApiHarness.Key1));
        AssertTooMany(functions);
        Assert.Equal(standalone, functions);
        Assert.True(int.Parse(functions.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture) >= 3540, functions.RetryAfter);
        Assert.Equal(403, (await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers(ApiHarness.Key2))).Status);
    }

    [Fact]
    public async Task Every_trigger_answer_says_nosniff_as_the_standalone_pipeline_does()
    {
        await using var api = await ApiHarness.StartAsync();
        var accepted = await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers(ApiHarness.Key1));
        var answers = new[]
        {
            accepted,
            await api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: Headers("wrong")),
            await api.ViaFunctionsAsync(HttpMethod.Get, Path + "/" + accepted.Id, headers: Headers(ApiHarness.Key1)),
            await api.ViaFunctionsAsync(HttpMethod.Get, Path + "/unknown", headers: Headers(ApiHarness.Key1)),
            await api.ViaFunctionsAsync(HttpMethod.Get, "/healthz"),
            await api.ViaFunctionsAsync(HttpMethod.Get, "/readyz"),
            await api.ViaStandaloneAsync(HttpMethod.Get, "/readyz"),
        };

        Assert.All(answers, a => Assert.Equal("nosniff", a.ContentTypeOptions));
    }
}
