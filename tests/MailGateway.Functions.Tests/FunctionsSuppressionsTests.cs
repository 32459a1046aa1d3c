using System.Text.RegularExpressions;
using System.Net;
using System.Net.Sockets;
using Azure.Data.Tables;
using MailGateway.AzureAdapters.Storage;
using MailGateway.AzureAdapters.Suppressions;
using MailGateway.Core.Suppressions;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Functions.Tests;

/// <summary>
/// The suppression routes of the Functions host on the Table list (Azurite) answer like the standalone host's
/// endpoints on the same composition: same statuses, problem+json codes and bodies.
/// </summary>
public sealed partial class FunctionsSuppressionsTests : IAsyncLifetime
{
    private const string Path = "/api/v1/suppressions";
    private ApiHarness _api = null!;

    public async Task InitializeAsync() => _api = await ApiHarness.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private async Task<Answer> SameAsync(HttpMethod method, string path, int status, string? body = null, string key = ApiHarness.Key1)
    {
        var standalone = await _api.ViaStandaloneAsync(method, path, body, headers: ApiHarness.Bearer(key));
        var functions = await _api.ViaFunctionsAsync(method, path, body, headers: ApiHarness.Bearer(key));
        Assert.Equal(status, standalone.Status);
        Assert.Equal(Scrub(standalone) with { Id = null }, Scrub(functions) with { Id = null });
        return functions;
    }

    private static Answer Scrub(Answer answer) => answer with { Body = CreatedAt().Replace(answer.Body, "\"createdAt\":\"<time>\"") };

    [Fact]
    public async Task Add_list_and_remove_go_through_the_table_list_and_the_worker_sees_the_entry()
    {
        var added = await SameAsync(HttpMethod.Post, Path, 200, """{"addresses":["Bob@Example.NET","carol@example.net"],"note":"asked"}""");
        Assert.Contains("\"address\":\"bob@example.net\",\"apiKey\":\"key-1\",\"reason\":\"manual\"", added.Body, StringComparison.Ordinal);

        var page = await SameAsync(HttpMethod.Get, Path + "?limit=1", 200);
        Assert.Contains("\"next\":", page.Body, StringComparison.Ordinal);
        Assert.Contains("bob@example.net", page.Body, StringComparison.Ordinal);
        var next = NextCursor().Match(page.Body).Groups[1].Value;
        var second = await SameAsync(HttpMethod.Get, Path + "?limit=1&cursor=" + next, 200);
        Assert.Contains("carol@example.net", second.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"next\"", second.Body, StringComparison.Ordinal);

        // Another key sees nothing of key-1's list and cannot read it without admin.
        Assert.Contains("\"suppressions\":[]", (await SameAsync(HttpMethod.Get, Path, 200, key: ApiHarness.Key2)).Body, StringComparison.Ordinal);
        await SameAsync(HttpMethod.Get, Path + "?apiKey=key-1", 403, key: ApiHarness.Key2);

        var list = _api.Services.GetRequiredService<ISuppressionList>();
        Assert.Equal(["BOB@example.net"], await list.FindAsync("key-1", ["BOB@example.net", "dave@example.net"], DateTimeOffset.UtcNow, CancellationToken.None));

        var removed = await _api.ViaFunctionsAsync(HttpMethod.Delete, Path + "/bob%40example.net", headers: ApiHarness.Bearer(ApiHarness.Key1));
        Assert.Equal(204, removed.Status);
        await SameAsync(HttpMethod.Delete, Path + "/bob%40example.net", 404);
        Assert.Empty(await list.FindAsync("key-1", ["bob@example.net"], DateTimeOffset.UtcNow, CancellationToken.None));
    }

    [Theory]
    [InlineData("""{"addresses":["not an address"]}""", "addresses[0]")]
    [InlineData("""{"addresses":[]}""", "required")]
    [InlineData("""{"addresses":["a@example.net"],"unknown":1}""", "invalid_json")]
    [InlineData("""{"addresses":["a@example.net"],"expiresAt":"2001-01-01T00:00:00Z"}""", "expiresAt")]
    [InlineData("""{"addresses":["a@example.net"],"expiresAt":"2099-01-01T00:00:00"}""", "expiresAt")]
    public async Task Bad_bodies_are_400_problem_json_like_the_standalone_host(string body, string expected)
    {
        var answer = await SameAsync(HttpMethod.Post, Path, 400, body);

        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Contains(expected, answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_too_long_note_and_bad_queries_are_400_with_the_standalone_codes()
    {
        var note = await SameAsync(HttpMethod.Post, Path, 400, $$"""{"addresses":["a@example.net"],"note":"{{new string('x', 513)}}"}""");
        Assert.Contains("note", note.Body, StringComparison.Ordinal);

        Assert.Contains("invalid_cursor", (await SameAsync(HttpMethod.Get, Path + "?cursor=%%%", 400)).Body, StringComparison.Ordinal);
        Assert.Contains("invalid_limit", (await SameAsync(HttpMethod.Get, Path + "?limit=0", 400)).Body, StringComparison.Ordinal);
        Assert.Contains("invalid_limit", (await SameAsync(HttpMethod.Get, Path + "?limit=1001", 400)).Body, StringComparison.Ordinal);
        Assert.Contains("address", (await SameAsync(HttpMethod.Get, Path + "?address=nope", 400)).Body, StringComparison.Ordinal);
        await SameAsync(HttpMethod.Get, Path + "?bogus=1", 400);
        await SameAsync(HttpMethod.Delete, Path + "/not-an-address", 400);
        await SameAsync(HttpMethod.Get, Path, 401, key: "nope");
        await SameAsync(HttpMethod.Post, Path, 413, "{\"addresses\":[\"" + new string('a', 600 * 1024) + "\"]}");
    }

    [Fact]
    public async Task A_table_service_that_does_not_answer_is_503_with_retry_after()
    {
        await using var down = await ApiHarness.StartAsync(configure: services => services.AddSingleton<ISuppressionList>(Unreachable()));
        {
            foreach (var (method, path, body) in new[] { (HttpMethod.Get, Path, (string?)null), (HttpMethod.Post, Path, """{"addresses":["a@example.net"]}"""), (HttpMethod.Delete, Path + "/a%40example.net", null) })
            {
                var answer = await down.ViaFunctionsAsync(method, path, body, headers: ApiHarness.Bearer(ApiHarness.Key1));
                Assert.Equal(503, answer.Status);
                Assert.Equal("application/problem+json", answer.ContentType);
                Assert.NotNull(answer.RetryAfter);
            }
        }
    }

    /// <summary>A Table list on a loopback port nobody listens on, without SDK retries.</summary>
    private static TableSuppressionList Unreachable()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 0;
        var service = new TableServiceClient(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
            options);
        return new TableSuppressionList(service, Microsoft.Extensions.Options.Options.Create(new AzureStorageOptions()));
    }

    [GeneratedRegex("\"createdAt\":\"[^\"]+\"")]
    private static partial Regex CreatedAt();

    [GeneratedRegex("\"next\":\"([^\"]+)\"")]
    private static partial Regex NextCursor();
}
