using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Functions.Tests;

/// <summary>
/// The Function classes invoked directly give the same answers as the standalone host's endpoints for the same
/// requests (the Functions host itself cannot run here).
/// </summary>
public sealed class FunctionsParityTests : IAsyncLifetime
{
    private const string Path = "/api/v1/messages";
    private const string Valid = """{"from":{"address":"app@example.com"},"to":[{"address":"b@example.net"}],"subject":"Hi","text":"Hello"}""";

    private ApiHarness _api = null!;

    public async Task InitializeAsync() => _api = await ApiHarness.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private async Task<(Answer Standalone, Answer Functions)> BothAsync(HttpMethod method, string path, string? body = null, string contentType = "application/json", IDictionary<string, string>? headers = null)
    {
        var standalone = await _api.ViaStandaloneAsync(method, path, body, contentType, headers);
        var functions = await _api.ViaFunctionsAsync(method, path, body, contentType, headers);
        return (standalone, functions);
    }

    private static void AssertSame((Answer Standalone, Answer Functions) answers, int expectedStatus)
    {
        Assert.Equal(expectedStatus, answers.Standalone.Status);
        Assert.Equal(answers.Standalone with { Id = null }, answers.Functions with { Id = null });
    }

    [Fact]
    public async Task Accepted_message_is_202_with_location_and_lands_in_blob_table_and_service_bus()
    {
        var answers = await BothAsync(HttpMethod.Post, Path, Valid, headers: ApiHarness.Bearer(ApiHarness.Key1));

        AssertSame(answers, 202);
        Assert.Equal("/api/v1/messages/<id>", answers.Functions.Location);
        Assert.Contains("\"status\":\"queued\"", answers.Functions.Body, StringComparison.Ordinal);
        var id = answers.Functions.Id!;
        var record = await _api.Services.GetRequiredService<IMessageStatusStore>().GetAsync(id, CancellationToken.None);
        Assert.Equal(MessageState.Queued, record!.State);
        var sent = _api.Sender.Sent.Select(s => s.Message).Single(m => m.MessageId == id);
        var job = DeliveryJobSerializer.Deserialize(sent.Body.ToMemory().Span);
        Assert.Equal(["b@example.net"], job.Recipients);
        await using var mime = await _api.Services.GetRequiredService<IMessageContentStore>().OpenReadAsync(job.ContentReference, CancellationToken.None);
        using var reader = new StreamReader(mime);
        Assert.Contains("Subject: Hi", await reader.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_or_unknown_key_is_401()
    {
        AssertSame(await BothAsync(HttpMethod.Post, Path, Valid), 401);
        AssertSame(await BothAsync(HttpMethod.Post, Path, Valid, headers: ApiHarness.Bearer("nope")), 401);
    }

    [Fact]
    public async Task Not_json_is_415()
    {
        var answers = await BothAsync(HttpMethod.Post, Path, "hello", "text/plain", ApiHarness.Bearer(ApiHarness.Key1));

        AssertSame(answers, 415);
        Assert.Equal("application/problem+json", answers.Functions.ContentType);
    }

    [Fact]
    public async Task Invalid_json_and_invalid_fields_are_400_with_every_error()
    {
        AssertSame(await BothAsync(HttpMethod.Post, Path, "{not json", headers: ApiHarness.Bearer(ApiHarness.Key1)), 400);
        var fields = await BothAsync(HttpMethod.Post, Path, """{"from":{"address":"nope"},"to":[],"subject":"x"}""", headers: ApiHarness.Bearer(ApiHarness.Key1));
        AssertSame(fields, 400);
        Assert.Contains("\"errors\"", fields.Functions.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_large_is_413()
    {
        var big = Valid.Replace("Hello", new string('x', 100_000), StringComparison.Ordinal);
        AssertSame(await BothAsync(HttpMethod.Post, Path, big, headers: ApiHarness.Bearer(ApiHarness.Key1)), 413);
    }

    [Fact]
    public async Task Sender_outside_the_keys_domains_is_403()
    {
        AssertSame(await BothAsync(HttpMethod.Post, Path, Valid, headers: ApiHarness.Bearer(ApiHarness.Key2)), 403);
    }

    [Fact]
    public async Task Idempotency_key_replays_the_first_answer_and_refuses_a_different_body()
    {
        foreach (var (via, key) in new (Func<HttpMethod, string, string?, string, IDictionary<string, string>?, Task<Answer>> Via, string Key)[]
                 {
                     (_api.ViaStandaloneAsync, "order-s"),
                     (_api.ViaFunctionsAsync, "order-f"),
                 })
        {
            var headers = new Dictionary<string, string>(ApiHarness.Bearer(ApiHarness.Key1)) { ["Idempotency-Key"] = key };
            var first = await via(HttpMethod.Post, Path, Valid, "application/json", headers);
            var replay = await via(HttpMethod.Post, Path, Valid, "application/json", headers);
            var different = await via(HttpMethod.Post, Path, Valid.Replace("Hello", "Other", StringComparison.Ordinal), "application/json", headers);

            Assert.Equal(202, first.Status);
            Assert.Equal(first, replay);
            Assert.Equal(422, different.Status);
        }
    }

    [Fact]
    public async Task Status_is_200_for_the_owner_and_404_for_another_key_or_an_unknown_id()
    {
        var accepted = await _api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: ApiHarness.Bearer(ApiHarness.Key1));
        var path = Path + "/" + accepted.Id;

        var own = await BothAsync(HttpMethod.Get, path, headers: ApiHarness.Bearer(ApiHarness.Key1));
        AssertSame(own, 200);
        Assert.Contains("\"status\":\"queued\"", own.Functions.Body, StringComparison.Ordinal);
        AssertSame(await BothAsync(HttpMethod.Get, path, headers: ApiHarness.Bearer(ApiHarness.Key2)), 404);
        AssertSame(await BothAsync(HttpMethod.Get, Path + "/0123456789abcdef0123456789abcdef", headers: ApiHarness.Bearer(ApiHarness.Key1)), 404);
        AssertSame(await BothAsync(HttpMethod.Get, Path + "/a'b", headers: ApiHarness.Bearer(ApiHarness.Key1)), 404);
    }

    [Fact]
    public async Task The_list_answers_alike_on_table_storage_with_its_filters_and_errors()
    {
        var accepted = await _api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: ApiHarness.Bearer(ApiHarness.Key1));

        var list = await BothAsync(HttpMethod.Get, Path + "?status=queued&limit=10", headers: ApiHarness.Bearer(ApiHarness.Key1));
        AssertSame(list, 200);
        Assert.Contains($"\"id\":\"{accepted.Id}\"", list.Functions.Body, StringComparison.Ordinal);
        var others = await BothAsync(HttpMethod.Get, Path, headers: ApiHarness.Bearer(ApiHarness.Key2));
        AssertSame(others, 200);
        Assert.DoesNotContain(accepted.Id!, others.Functions.Body, StringComparison.Ordinal);
        var bad = await BothAsync(HttpMethod.Get, Path + "?limit=0&colour=blue", headers: ApiHarness.Bearer(ApiHarness.Key1));
        AssertSame(bad, 400);
        Assert.Contains("invalid_limit", bad.Functions.Body, StringComparison.Ordinal);
        Assert.Contains("unknown_parameter", bad.Functions.Body, StringComparison.Ordinal);
        AssertSame(await BothAsync(HttpMethod.Get, Path), 401);
    }

    [Fact]
    public async Task Cancel_answers_alike_and_a_canceled_message_is_409_the_second_time()
    {
        foreach (var via in new Func<HttpMethod, string, string?, string, IDictionary<string, string>?, Task<Answer>>[] { _api.ViaStandaloneAsync, _api.ViaFunctionsAsync })
        {
            var accepted = await via(HttpMethod.Post, Path, Valid, "application/json", ApiHarness.Bearer(ApiHarness.Key1));
            var cancel = await via(HttpMethod.Post, $"{Path}/{accepted.Id}/cancel", null, "application/json", ApiHarness.Bearer(ApiHarness.Key1));
            Assert.Equal(200, cancel.Status);
            Assert.Contains("\"status\":\"canceled\"", cancel.Body, StringComparison.Ordinal);
            var record = await _api.Services.GetRequiredService<IMessageStatusStore>().GetAsync(accepted.Id!, CancellationToken.None);
            Assert.Equal(MessageState.Canceled, record!.State);

            AssertSame(await BothAsync(HttpMethod.Post, $"{Path}/{accepted.Id}/cancel", headers: ApiHarness.Bearer(ApiHarness.Key1)), 409);
            AssertSame(await BothAsync(HttpMethod.Post, $"{Path}/{accepted.Id}/cancel", headers: ApiHarness.Bearer(ApiHarness.Key2)), 404);
        }
    }

    /// <summary>Accepts a message through the Functions host and dead-letters its job as the worker would; returns the message id.</summary>
    private async Task<string> DeadLetteredAsync()
    {
        var accepted = await _api.ViaFunctionsAsync(HttpMethod.Post, Path, Valid, headers: ApiHarness.Bearer(ApiHarness.Key1));
        var id = accepted.Id!;
        await _api.Services.GetRequiredService<IMessageStatusStore>().SetStateAsync(id, MessageState.Failed, "550 5.1.1 No such user", CancellationToken.None);
        var sent = _api.Sender.Sent.Select(s => s.Message).Single(m => m.MessageId == id);
        sent.ApplicationProperties[DeliveryJobMessages.DeadLetteredAtProperty] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        sent.ApplicationProperties[DeliveryJobMessages.DeliveryCountProperty] = 1;
        _api.DeadLetters.AddDeadLetter(sent, DeadLetterReasons.Failed, "550 5.1.1 No such user");
        return id;
    }

    private async Task<Dictionary<string, string>> DeadLetterIdsAsync()
    {
        var list = await _api.ViaFunctionsAsync(HttpMethod.Get, "/api/v1/dead-letters?limit=100", headers: ApiHarness.Bearer(ApiHarness.Key1));
        using var json = System.Text.Json.JsonDocument.Parse(list.Body);
        return json.RootElement.GetProperty("items").EnumerateArray()
            .ToDictionary(i => i.GetProperty("messageId").GetString()!, i => i.GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task Dead_letters_on_the_service_bus_sub_queue_are_listed_read_replayed_and_purged_alike()
    {
        var key = ApiHarness.Bearer(ApiHarness.Key1);
        var messages = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            messages.Add(await DeadLetteredAsync());
        }

        var ids = await DeadLetterIdsAsync();
        var list = await BothAsync(HttpMethod.Get, "/api/v1/dead-letters?reason=failed&limit=10", headers: key);
        AssertSame(list, 200);
        Assert.All(messages, m => Assert.Contains($"\"messageId\":\"{m}\"", list.Functions.Body, StringComparison.Ordinal));
        Assert.Contains("\"apiKey\":\"key-1\"", list.Functions.Body, StringComparison.Ordinal);
        var read = await BothAsync(HttpMethod.Get, $"/api/v1/dead-letters/{ids[messages[0]]}", headers: key);
        AssertSame(read, 200);
        Assert.Contains("\"status\":\"failed\"", read.Functions.Body, StringComparison.Ordinal);
        AssertSame(await BothAsync(HttpMethod.Get, "/api/v1/dead-letters", headers: ApiHarness.Bearer(ApiHarness.Key2)), 200);
        AssertSame(await BothAsync(HttpMethod.Get, $"/api/v1/dead-letters/{ids[messages[0]]}", headers: ApiHarness.Bearer(ApiHarness.Key2)), 404);
        AssertSame(await BothAsync(HttpMethod.Post, $"/api/v1/dead-letters/{ids[messages[0]]}/replay", headers: ApiHarness.Bearer(ApiHarness.Key2)), 404);

        // One replay and one purge each way: the same answer (ids normalised), then both 404 for what is gone.
        var replayedStandalone = await _api.ViaStandaloneAsync(HttpMethod.Post, $"/api/v1/dead-letters/{ids[messages[0]]}/replay", headers: key);
        var replayedFunctions = await _api.ViaFunctionsAsync(HttpMethod.Post, $"/api/v1/dead-letters/{ids[messages[1]]}/replay", headers: key);
        Assert.Equal(202, replayedStandalone.Status);
        Assert.Equal(replayedStandalone with { Id = null }, replayedFunctions with { Id = null });
        Assert.Contains("\"status\":\"deferred\"", replayedFunctions.Body, StringComparison.Ordinal);
        AssertSame(await BothAsync(HttpMethod.Post, $"/api/v1/dead-letters/{ids[messages[0]]}/replay", headers: key), 404);
        var purgedStandalone = await _api.ViaStandaloneAsync(HttpMethod.Delete, $"/api/v1/dead-letters/{ids[messages[2]]}", headers: key);
        var purgedFunctions = await _api.ViaFunctionsAsync(HttpMethod.Delete, $"/api/v1/dead-letters/{ids[messages[3]]}", headers: key);
        Assert.Equal((204, 204), (purgedStandalone.Status, purgedFunctions.Status));
        Assert.Equal(purgedStandalone, purgedFunctions);
        AssertSame(await BothAsync(HttpMethod.Delete, $"/api/v1/dead-letters/{ids[messages[2]]}", headers: key), 404);

        Assert.Equal([messages[0] + "#2", messages[1] + "#2"], _api.DeadLetters.Waiting.Select(m => m.MessageId).Order());
        var status = _api.Services.GetRequiredService<IMessageStatusStore>();
        Assert.Equal(MessageState.Deferred, (await status.GetAsync(messages[1], CancellationToken.None))!.State);
        await Assert.ThrowsAsync<MessageContentNotFoundException>(async () =>
        {
            var job = DeliveryJobSerializer.Deserialize(_api.Sender.Sent.Select(s => s.Message).Single(m => m.MessageId == messages[3]).Body.ToMemory().Span);
            await using var gone = await _api.Services.GetRequiredService<IMessageContentStore>().OpenReadAsync(job.ContentReference, CancellationToken.None);
        });
        AssertSame(await BothAsync(HttpMethod.Get, "/api/v1/dead-letters", headers: key), 200);
    }

    [Fact]
    public async Task Bulk_replay_and_purge_by_filter_answer_alike_on_the_service_bus_sub_queue()
    {
        var key = ApiHarness.Bearer(ApiHarness.Key1);
        var first = await DeadLetteredAsync();
        var second = await DeadLetteredAsync();

        var replayed = await _api.ViaFunctionsAsync(HttpMethod.Post, "/api/v1/dead-letters/replay?reason=Failed&limit=1", headers: key);
        Assert.Equal(200, replayed.Status);
        Assert.Contains("\"done\":1", replayed.Body, StringComparison.Ordinal);
        Assert.Contains($"\"messageId\":\"{second}\",\"outcome\":\"replayed\"", replayed.Body, StringComparison.Ordinal);
        Assert.Contains("\"more\":true", replayed.Body, StringComparison.Ordinal);
        var purged = await _api.ViaStandaloneAsync(HttpMethod.Post, "/api/v1/dead-letters/purge", headers: key);
        Assert.Equal(200, purged.Status);
        Assert.Contains($"\"messageId\":\"{first}\",\"outcome\":\"purged\"", purged.Body, StringComparison.Ordinal);
        Assert.Equal([second + "#2"], _api.DeadLetters.Waiting.Select(m => m.MessageId));

        AssertSame(await BothAsync(HttpMethod.Post, "/api/v1/dead-letters/replay?reason=Failed", headers: key), 200);
        AssertSame(await BothAsync(HttpMethod.Post, "/api/v1/dead-letters/purge", headers: key), 200);
    }

    [Theory]
    [InlineData("GET", "/api/v1/dead-letters?reason=nope", 400)]
    [InlineData("GET", "/api/v1/dead-letters?cursor=abc&limit=0&colour=blue", 400)]
    [InlineData("GET", "/api/v1/dead-letters?since=yesterday&until=2026-01-01T00:00:00", 400)]
    [InlineData("GET", "/api/v1/dead-letters?reason=Failed&reason=Expired", 400)]
    [InlineData("POST", "/api/v1/dead-letters/replay?limit=1001", 400)]
    [InlineData("POST", "/api/v1/dead-letters/purge?cursor=5", 400)]
    [InlineData("GET", "/api/v1/dead-letters/abc", 404)]
    [InlineData("GET", "/api/v1/dead-letters/0", 404)]
    [InlineData("GET", "/api/v1/dead-letters/99999999999999999999", 404)]
    [InlineData("POST", "/api/v1/dead-letters/424242/replay", 404)]
    [InlineData("DELETE", "/api/v1/dead-letters/-1", 404)]
    public async Task Hostile_dead_letter_requests_are_the_same_problems_on_both(string method, string path, int status)
    {
        var answers = await BothAsync(new HttpMethod(method), path, headers: ApiHarness.Bearer(ApiHarness.Key1));

        AssertSame(answers, status);
        Assert.Equal("application/problem+json", answers.Functions.ContentType);
        AssertSame(await BothAsync(new HttpMethod(method), path), 401);
    }

    [Fact]
    public async Task A_batch_answers_alike_with_one_result_per_item()
    {
        var batch = "{\"messages\":[{\"message\":" + Valid + "},{\"message\":{\"from\":\"nope\"}}]}";

        var answers = await BothAsync(HttpMethod.Post, Path + "/batch", batch, headers: ApiHarness.Bearer(ApiHarness.Key1));

        Assert.Equal((200, 200), (answers.Standalone.Status, answers.Functions.Status));
        foreach (var body in new[] { answers.Standalone.Body, answers.Functions.Body })
        {
            Assert.Contains("\"accepted\":1,\"refused\":1", body, StringComparison.Ordinal);
        }

        AssertSame(await BothAsync(HttpMethod.Post, Path + "/batch", "{\"messages\":[]}", headers: ApiHarness.Bearer(ApiHarness.Key1)), 400);
    }

    [Fact]
    public async Task Queue_unavailable_is_503_and_nothing_is_promised()
    {
        _api.Sender.FailWith = new Azure.Messaging.ServiceBus.ServiceBusException("down", Azure.Messaging.ServiceBus.ServiceBusFailureReason.ServiceCommunicationProblem);

        var answers = await BothAsync(HttpMethod.Post, Path, Valid, headers: ApiHarness.Bearer(ApiHarness.Key1));

        AssertSame(answers, 503);
        Assert.NotNull(answers.Functions.RetryAfter);
    }

    [Fact]
    public async Task An_unexpected_failure_is_a_problem_500_without_a_stack_trace_like_the_standalone_exception_handler()
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = Path;
        context.Request.ContentType = "application/json";
        context.Request.Headers.Authorization = "Bearer " + ApiHarness.Key1;
        context.Request.Body = new FailingStream();
        using var response = new MemoryStream();
        context.Response.Body = response;

        var result = await _api.Functions.SendAsync(context.Request);
        await result.ExecuteAsync(context);

        Assert.Equal(500, context.Response.StatusCode);
        Assert.Equal("application/problem+json", context.Response.ContentType);
        var body = System.Text.Encoding.UTF8.GetString(response.ToArray());
        Assert.Contains("\"title\":\"Internal error\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("disk on fire", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_and_readiness_answer_alike()
    {
        AssertSame(await BothAsync(HttpMethod.Get, "/healthz"), 200);
        AssertSame(await BothAsync(HttpMethod.Get, "/readyz"), 200);
        _api.Sender.Ready = false;
        AssertSame(await BothAsync(HttpMethod.Get, "/readyz"), 503);
    }

    private sealed class FailingStream : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<int>(new IOException("disk on fire"));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromException<int>(new IOException("disk on fire"));
    }
}
