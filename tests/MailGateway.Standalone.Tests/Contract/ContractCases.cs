using System.Net.Http.Headers;
using System.Text;
using MailGateway.Testing;
using static MailGateway.Standalone.Tests.Contract.ContractRequests;

namespace MailGateway.Standalone.Tests.Contract;

/// <summary>
/// One live request of the contract test: what it sends, the documented operation it exercises (<see cref="Method"/>,
/// <see cref="Path"/> as the document writes it) and the status it must get. Its answer is validated against the
/// document's schema for that operation and status.
/// </summary>
public sealed record ContractCase(string Name, string Method, string Path, int Status, Func<ContractHosts, Task<HttpResponseMessage>> SendAsync);

/// <summary>
/// Every contract case. A new endpoint or status adds its cases here: <c>ContractTests</c> fails while the document
/// lists an operation or a status that no case exercises (or that <see cref="NotExercised"/> does not explain).
/// </summary>
public static class ContractCases
{
    public const string Messages = "/api/v1/messages";
    public const string Message = "/api/v1/messages/{id}";
    public const string Batch = "/api/v1/messages/batch";
    public const string Cancel = "/api/v1/messages/{id}/cancel";
    public const string MessageEvents = "/api/v1/messages/{id}/events";
    public const string DeadLetters = "/api/v1/dead-letters";
    public const string DeadLetter = "/api/v1/dead-letters/{id}";
    public const string Replay = "/api/v1/dead-letters/{id}/replay";
    public const string BulkReplay = "/api/v1/dead-letters/replay";
    public const string BulkPurge = "/api/v1/dead-letters/purge";
    public const string Events = "/api/v1/events";
    public const string Webhooks = "/api/v1/webhooks";
    public const string Suppressions = "/api/v1/suppressions";
    public const string Suppression = "/api/v1/suppressions/{address}";
    public const string Liveness = "/healthz";
    public const string Readiness = "/readyz";

    /// <summary>Documented (method, path, status) that no case can reach, each with the reason. Empty: every one is exercised.</summary>
    public static IReadOnlyDictionary<(string Method, string Path, int Status), string> NotExercised { get; } =
        new Dictionary<(string Method, string Path, int Status), string>();

    /// <summary>The 429 of an operation: the rate-limited host's key has spent its one request of the day after its first request.</summary>
    private static ContractCase RateLimited(string method, string path, string url) => new($"{method} {path}: the key's rate limit is spent", method, path, 429, async h =>
    {
        var client = (await h.RateLimitedAsync()).Client;
        (await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url))).Dispose();
        return await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));
    });

    /// <summary>The 401 of an operation: no API key.</summary>
    private static ContractCase NoKey(string method, string path, string url) => new($"{method} {path}: no API key", method, path, 401, async h =>
        await h.Anonymous(await h.MainAsync()).SendAsync(new HttpRequestMessage(new HttpMethod(method), url)));

    /// <summary>The 403 of an operation: a key without the scope it needs.</summary>
    private static ContractCase WrongScope(string method, string path, string url, string key) => new($"{method} {path}: a key without the scope", method, path, 403, async h =>
        await (await h.WithKeyAsync(key)).SendAsync(new HttpRequestMessage(new HttpMethod(method), url)));

    /// <summary>The 503 of an operation: its store is down.</summary>
    private static ContractCase StoresDown(string method, string path, string url) => new($"{method} {path}: the store is down", method, path, 503, async h =>
        await (await h.StoresDownAsync()).Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url)));

    public static IReadOnlyList<ContractCase> All { get; } =
    [
        // POST /api/v1/messages
        new("send: the document's example request", "POST", Messages, 202, async h =>
        {
            var contract = await h.ContractAsync();
            var example = contract.Operation("POST", Messages)!["requestBody"]!["content"]!["application/json"]!["example"]!.ToJsonString();
            return await (await h.MainAsync()).Client.SendAsync(JsonRequest(HttpMethod.Post, Messages, example));
        }),
        new("send: scheduled, every request field", "POST", Messages, 202, async h => await (await h.MainAsync()).Client.SendAsync(JsonRequest(HttpMethod.Post, Messages, new
        {
            from = new { address = "app@example.com", name = "App" },
            to = new object[] { "a@example.net", new { address = "b@example.net", name = "B" } },
            cc = new[] { "c@example.net" },
            bcc = new[] { "d@example.net" },
            replyTo = new[] { "reply@example.com" },
            subject = "Every field",
            text = "Text",
            html = "<p>Html <img src=\"cid:logo\"></p>",
            headers = new[] { new { name = "X-Campaign", value = "spring" } },
            attachments = new[]
            {
                new { filename = "a.txt", contentType = "text/plain", content = Convert.ToBase64String("hello"u8), contentId = (string?)null },
                new { filename = "logo.png", contentType = "image/png", content = Convert.ToBase64String([1, 2, 3]), contentId = (string?)"logo" },
            },
            tags = new[] { "welcome" },
            metadata = new Dictionary<string, string> { ["orderId"] = "42" },
            sendAt = DateTimeOffset.UtcNow.AddDays(1),
            expiresAt = DateTimeOffset.UtcNow.AddDays(2),
        }, "contract-scheduled"))),
        new("send: a replay of the same Idempotency-Key and body", "POST", Messages, 202, async h =>
        {
            var client = (await h.MainAsync()).Client;
            (await client.SendAsync(JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message("replayed"), "contract-replay"))).Dispose();
            return await client.SendAsync(JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message("replayed"), "contract-replay"));
        }),
        new("send: invalid fields, every error at once", "POST", Messages, 400, async h => await (await h.MainAsync()).Client.SendAsync(JsonRequest(HttpMethod.Post, Messages, new
        {
            from = "app@example.com",
            to = new[] { "not-an-address" },
            cc = new object?[] { null },
            headers = new[] { new { name = "From", value = "x@example.com" } },
            attachments = new[] { new { filename = "a.txt", contentType = "text/plain", content = "!!not base64" } },
            expiresAt = DateTimeOffset.UtcNow.AddDays(-1),
        }))),
        new("send: not valid JSON", "POST", Messages, 400, async h => await (await h.MainAsync()).Client.SendAsync(JsonRequest(HttpMethod.Post, Messages, "{\"from\": "))),
        new("send: an unknown property", "POST", Messages, 400, async h => await (await h.MainAsync()).Client.SendAsync(JsonRequest(HttpMethod.Post, Messages, "{\"from\": \"app@example.com\", \"too\": []}"))),
        new("send: a date-time without an offset", "POST", Messages, 400, async h => await (await h.MainAsync()).Client.SendAsync(
            JsonRequest(HttpMethod.Post, Messages, "{\"from\": \"app@example.com\", \"to\": [\"a@example.net\"], \"text\": \"x\", \"sendAt\": \"2030-12-01T09:00:00\"}"))),
        new("send: an invalid Idempotency-Key", "POST", Messages, 400, async h => await (await h.MainAsync()).Client.SendAsync(
            JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message(), new string('k', 256)))),
        new("send: no API key", "POST", Messages, 401, async h => await h.Anonymous(await h.MainAsync()).SendAsync(JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message()))),
        new("send: an unknown API key", "POST", Messages, 401, async h => await h.UnknownKey(await h.MainAsync()).SendAsync(JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message()))),
        new("send: a sender outside the key's domains", "POST", Messages, 403, async h => await (await h.MainAsync()).Client.SendAsync(
            JsonRequest(HttpMethod.Post, Messages, new { from = "app@example.org", to = new[] { "a@example.net" }, text = "x" }))),
        new("send: a body over MaxRequestBodyBytes", "POST", Messages, 413, async h =>
        {
            var content = new ByteArrayContent(new byte[ContractHosts.MaxRequestBodyBytes + 1]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return await (await h.MainAsync()).Client.PostAsync(Messages, content);
        }),
        new("send: a composed message over MaxMessageBytes", "POST", Messages, 413, async h => await (await h.MainAsync()).Client.SendAsync(
            JsonRequest(HttpMethod.Post, Messages, new { from = "app@example.com", to = new[] { "a@example.net" }, text = new string('x', ContractHosts.MaxMessageBytes * 2) }))),
        new("send: not JSON", "POST", Messages, 415, async h => await (await h.MainAsync()).Client.PostAsync(
            Messages, new StringContent("from=app@example.com", Encoding.UTF8, "application/x-www-form-urlencoded"))),
        new("send: an Idempotency-Key reused with another body", "POST", Messages, 422, async h =>
        {
            var client = (await h.MainAsync()).Client;
            (await client.SendAsync(JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message("first"), "contract-reused"))).Dispose();
            return await client.SendAsync(JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message("second"), "contract-reused"));
        }),
        new("send: the key's rate limit is spent", "POST", Messages, 429, async h =>
        {
            var client = (await h.RateLimitedAsync()).Client;
            (await client.SendAsync(JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message()))).Dispose();
            return await client.SendAsync(JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message()));
        }),
        new("send: the content store is down", "POST", Messages, 503, async h => await (await h.BrokenStorageAsync()).Client.SendAsync(JsonRequest(HttpMethod.Post, Messages, GatewayHost.Message()))),

        // GET /api/v1/messages/{id}
        new("status: delivered, with attempts", "GET", Message, 200, async h => await (await h.MainAsync()).Client.GetAsync($"{Messages}/{await h.DeliveredIdAsync()}")),
        new("status: scheduled, with sendAt and expiresAt", "GET", Message, 200, async h => await (await h.MainAsync()).Client.GetAsync($"{Messages}/{await h.ScheduledIdAsync()}")),
        new("status: no API key", "GET", Message, 401, async h => await h.Anonymous(await h.MainAsync()).GetAsync($"{Messages}/{await h.ScheduledIdAsync()}")),
        new("status: an unknown id", "GET", Message, 404, async h => await (await h.MainAsync()).Client.GetAsync($"{Messages}/0123456789abcdef")),
        new("status: another key's message", "GET", Message, 404, async h =>
        {
            var other = h.Anonymous(await h.MainAsync());
            other.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayHost.OtherKey);
            return await other.GetAsync($"{Messages}/{await h.ScheduledIdAsync()}");
        }),
        new("status: the key's rate limit is spent", "GET", Message, 429, async h =>
        {
            var client = (await h.RateLimitedAsync()).Client;
            (await client.GetAsync($"{Messages}/0123456789abcdef")).Dispose();
            return await client.GetAsync($"{Messages}/0123456789abcdef");
        }),
        new("status: the status store is down", "GET", Message, 503, async h => await (await h.StatusStoreDownAsync()).Client.GetAsync($"{Messages}/0123456789abcdef")),

        // POST /api/v1/messages/batch
        new("batch: accepted, invalid and not allowed items", "POST", Batch, 200, async h => await (await h.MainAsync()).Client.SendAsync(JsonRequest(HttpMethod.Post, Batch, new
        {
            messages = new object[]
            {
                new { idempotencyKey = "contract-batch-1", message = GatewayHost.Message("batch") },
                new { message = new { from = "app@example.com", to = new[] { "not-an-address" }, text = "x" } },
                new { message = new { from = "app@example.org", to = new[] { "a@example.net" }, text = "x" } },
                new { message = new { from = "app@example.com", to = new[] { "a@example.net" }, text = "later", sendAt = DateTimeOffset.UtcNow.AddDays(1) } },
            },
        }))),
        new("batch: no messages", "POST", Batch, 400, async h => await (await h.MainAsync()).Client.SendAsync(JsonRequest(HttpMethod.Post, Batch, "{\"messages\": []}"))),
        new("batch: an unknown property", "POST", Batch, 400, async h => await (await h.MainAsync()).Client.SendAsync(JsonRequest(HttpMethod.Post, Batch, "{\"messages\": [], \"extra\": 1}"))),
        NoKey("POST", Batch, Batch),
        WrongScope("POST", Batch, Batch, OperatorKeys.ReadOnly),
        new("batch: a body over MaxRequestBodyBytes", "POST", Batch, 413, async h =>
        {
            var content = new ByteArrayContent(new byte[ContractHosts.MaxRequestBodyBytes + 1]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return await (await h.MainAsync()).Client.PostAsync(Batch, content);
        }),
        new("batch: not JSON", "POST", Batch, 415, async h => await (await h.MainAsync()).Client.PostAsync(
            Batch, new StringContent("messages=1", Encoding.UTF8, "application/x-www-form-urlencoded"))),
        RateLimited("POST", Batch, Batch),
        new("batch: the content store is down", "POST", Batch, 503, async h => await (await h.BrokenStorageAsync()).Client.SendAsync(
            JsonRequest(HttpMethod.Post, Batch, new { messages = new[] { new { message = GatewayHost.Message() } } }))),

        // GET /api/v1/messages
        new("list: the first page", "GET", Messages, 200, async h =>
        {
            await h.DeliveredIdAsync();
            await h.ScheduledIdAsync();
            return await (await h.MainAsync()).Client.GetAsync($"{Messages}?limit=1");
        }),
        new("list: every filter", "GET", Messages, 200, async h =>
        {
            await h.DeliveredIdAsync();
            return await (await h.MainAsync()).Client.GetAsync($"{Messages}?status=delivered&tag=contract&recipient=rcpt@example.net&from=app@example.com&since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&limit=100");
        }),
        new("list: every bad parameter at once", "GET", Messages, 400, async h => await (await h.MainAsync()).Client.GetAsync(
            $"{Messages}?status=lost&tag=&recipient=nobody&since=yesterday&until=2030-01-01T00:00:00&cursor=x&limit=0&colour=blue")),
        NoKey("GET", Messages, Messages),
        WrongScope("GET", Messages, Messages, OperatorKeys.SendOnly),
        RateLimited("GET", Messages, Messages),
        StoresDown("GET", Messages, Messages),

        // POST /api/v1/messages/{id}/cancel
        new("cancel: a scheduled message", "POST", Cancel, 200, async h =>
        {
            var host = await h.MainAsync();
            var (response, body) = await host.PostAsync(new { from = "app@example.com", to = new[] { "rcpt@example.net" }, text = "Cancel me", sendAt = DateTimeOffset.UtcNow.AddDays(1) });
            response.Dispose();
            return await host.Client.PostAsync($"{Messages}/{body.GetProperty("id").GetString()}/cancel", null);
        }),
        NoKey("POST", Cancel, $"{Messages}/0123456789abcdef/cancel"),
        WrongScope("POST", Cancel, $"{Messages}/0123456789abcdef/cancel", OperatorKeys.ReadOnly),
        new("cancel: an unknown id", "POST", Cancel, 404, async h => await (await h.MainAsync()).Client.PostAsync($"{Messages}/0123456789abcdef/cancel", null)),
        new("cancel: a delivered message", "POST", Cancel, 409, async h => await (await h.MainAsync()).Client.PostAsync($"{Messages}/{await h.DeliveredIdAsync()}/cancel", null)),
        RateLimited("POST", Cancel, $"{Messages}/0123456789abcdef/cancel"),
        StoresDown("POST", Cancel, $"{Messages}/0123456789abcdef/cancel"),

        // GET /api/v1/messages/{id}/events
        new("message events: a delivered message", "GET", MessageEvents, 200, async h => await (await h.MainAsync()).Client.GetAsync($"{Messages}/{await h.DeliveredIdAsync()}/events")),
        new("message events: a bad limit", "GET", MessageEvents, 400, async h => await (await h.MainAsync()).Client.GetAsync($"{Messages}/0123456789abcdef/events?limit=0&after=x")),
        NoKey("GET", MessageEvents, $"{Messages}/0123456789abcdef/events"),
        WrongScope("GET", MessageEvents, $"{Messages}/0123456789abcdef/events", OperatorKeys.SendOnly),
        new("message events: an unknown id", "GET", MessageEvents, 404, async h => await (await h.MainAsync()).Client.GetAsync($"{Messages}/0123456789abcdef/events")),
        RateLimited("GET", MessageEvents, $"{Messages}/0123456789abcdef/events"),
        StoresDown("GET", MessageEvents, $"{Messages}/0123456789abcdef/events"),

        // GET /api/v1/events
        new("events: the feed", "GET", Events, 200, async h =>
        {
            await h.DeliveredIdAsync();
            await h.DeadLetterIdAsync();
            return await (await h.MainAsync()).Client.GetAsync($"{Events}?limit=1000");
        }),
        new("events: a page that is full", "GET", Events, 200, async h =>
        {
            await h.DeliveredIdAsync();
            return await (await h.MainAsync()).Client.GetAsync($"{Events}?limit=1&types=accepted,delivered");
        }),
        new("events: every bad parameter at once", "GET", Events, 400, async h => await (await h.MainAsync()).Client.GetAsync($"{Events}?after=x&limit=5000&types=opened")),
        NoKey("GET", Events, Events),
        WrongScope("GET", Events, Events, OperatorKeys.SendOnly),
        RateLimited("GET", Events, Events),
        StoresDown("GET", Events, Events),

        // GET /api/v1/webhooks
        new("webhooks: the key's endpoint and its failures", "GET", Webhooks, 200, async h =>
        {
            var client = (await h.MainAsync()).Client;
            await h.DeliveredIdAsync();
            // The receiver is a closed port: wait until the dispatcher has failed once, so the state fields are there.
            await Poll.UntilAsync(async () => (await GatewayHost.ReadAsync(await client.GetAsync(Webhooks))).GetProperty("webhooks")[0].GetProperty("failures").GetInt32() > 0);
            return await client.GetAsync(Webhooks);
        }),
        new("webhooks: a key without endpoints", "GET", Webhooks, 200, async h => await (await h.WithKeyAsync(OperatorKeys.ReadOnly)).GetAsync(Webhooks)),
        NoKey("GET", Webhooks, Webhooks),
        WrongScope("GET", Webhooks, Webhooks, OperatorKeys.SendOnly),
        RateLimited("GET", Webhooks, Webhooks),
        StoresDown("GET", Webhooks, Webhooks),

        // GET /api/v1/suppressions
        new("suppressions: the key's list, one page of two", "GET", Suppressions, 200, async h =>
        {
            var client = (await h.MainAsync()).Client;
            (await client.SendAsync(JsonRequest(HttpMethod.Post, Suppressions, new { addresses = new[] { "list-a@example.net", "list-b@example.net" }, expiresAt = DateTimeOffset.UtcNow.AddDays(1), note = "contract" }))).Dispose();
            return await client.GetAsync($"{Suppressions}?limit=1");
        }),
        new("suppressions: every bad parameter at once", "GET", Suppressions, 400, async h => await (await h.MainAsync()).Client.GetAsync($"{Suppressions}?address=nope&cursor=%21&limit=0&colour=red")),
        NoKey("GET", Suppressions, Suppressions),
        WrongScope("GET", Suppressions, Suppressions, OperatorKeys.SendOnly),
        RateLimited("GET", Suppressions, Suppressions),
        StoresDown("GET", Suppressions, Suppressions),

        // POST /api/v1/suppressions
        new("suppressions: add with every field", "POST", Suppressions, 200, async h => await (await h.MainAsync()).Client.SendAsync(
            JsonRequest(HttpMethod.Post, Suppressions, new { addresses = new[] { "Add@Example.net" }, expiresAt = DateTimeOffset.UtcNow.AddDays(1), note = "by hand", apiKey = "app" }))),
        new("suppressions: every problem at once", "POST", Suppressions, 400, async h => await (await h.MainAsync()).Client.SendAsync(
            JsonRequest(HttpMethod.Post, Suppressions, new { addresses = new[] { "not an address", "" }, expiresAt = DateTimeOffset.UtcNow.AddDays(-1), note = new string('n', 600) }))),
        new("suppressions: a body over the limit", "POST", Suppressions, 413, async h => await (await h.MainAsync()).Client.SendAsync(
            JsonRequest(HttpMethod.Post, Suppressions, new string(' ', MailGateway.Api.SuppressionsApi.MaxBodyBytes + 1)))),
        new("suppressions: not JSON", "POST", Suppressions, 415, async h => await (await h.MainAsync()).Client.PostAsync(Suppressions, new StringContent("a@example.net"))),
        NoKey("POST", Suppressions, Suppressions),
        WrongScope("POST", Suppressions, Suppressions, OperatorKeys.ReadOnly),
        RateLimited("POST", Suppressions, Suppressions),
        new("suppressions: add while the list is down", "POST", Suppressions, 503, async h => await (await h.StoresDownAsync()).Client.SendAsync(
            JsonRequest(HttpMethod.Post, Suppressions, new { addresses = new[] { "down@example.net" } }))),

        // DELETE /api/v1/suppressions/{address}
        new("suppressions: remove an entry", "DELETE", Suppression, 204, async h =>
        {
            var client = (await h.MainAsync()).Client;
            (await client.SendAsync(JsonRequest(HttpMethod.Post, Suppressions, new { addresses = new[] { "remove@example.net" } }))).Dispose();
            return await client.DeleteAsync($"{Suppressions}/remove@example.net");
        }),
        new("suppressions: remove a path that is no address", "DELETE", Suppression, 400, async h => await (await h.MainAsync()).Client.DeleteAsync($"{Suppressions}/not-an-address?colour=red")),
        new("suppressions: remove an address not on the list", "DELETE", Suppression, 404, async h => await (await h.MainAsync()).Client.DeleteAsync($"{Suppressions}/never@example.net")),
        NoKey("DELETE", Suppression, $"{Suppressions}/a@example.net"),
        WrongScope("DELETE", Suppression, $"{Suppressions}/a@example.net", OperatorKeys.ReadOnly),
        RateLimited("DELETE", Suppression, $"{Suppressions}/a@example.net"),
        StoresDown("DELETE", Suppression, $"{Suppressions}/a@example.net"),

        // GET /api/v1/dead-letters
        new("dead letters: the list", "GET", DeadLetters, 200, async h =>
        {
            await h.DeadLetterIdAsync();
            return await (await h.MainAsync()).Client.GetAsync($"{DeadLetters}?reason=failed&since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&limit=1");
        }),
        new("dead letters: every bad parameter at once", "GET", DeadLetters, 400, async h => await (await h.MainAsync()).Client.GetAsync(
            $"{DeadLetters}?reason=nope&since=2026-01-01&until=2026-01-01T00:00:00&cursor=abc&limit=0&colour=blue")),
        NoKey("GET", DeadLetters, DeadLetters),
        WrongScope("GET", DeadLetters, DeadLetters, OperatorKeys.SendOnly),
        RateLimited("GET", DeadLetters, DeadLetters),
        StoresDown("GET", DeadLetters, DeadLetters),

        // GET /api/v1/dead-letters/{id}
        new("dead letter: with its message's status", "GET", DeadLetter, 200, async h => await (await h.MainAsync()).Client.GetAsync($"{DeadLetters}/{await h.DeadLetterIdAsync()}")),
        NoKey("GET", DeadLetter, $"{DeadLetters}/1"),
        WrongScope("GET", DeadLetter, $"{DeadLetters}/1", OperatorKeys.SendOnly),
        new("dead letter: an unknown id", "GET", DeadLetter, 404, async h => await (await h.MainAsync()).Client.GetAsync($"{DeadLetters}/999999999")),
        new("dead letter: another key's", "GET", DeadLetter, 404, async h =>
            await (await h.WithKeyAsync(GatewayHost.OtherKey)).GetAsync($"{DeadLetters}/{await h.DeadLetterIdAsync()}")),
        RateLimited("GET", DeadLetter, $"{DeadLetters}/1"),
        StoresDown("GET", DeadLetter, $"{DeadLetters}/1"),

        // POST /api/v1/dead-letters/{id}/replay
        new("replay: a dead letter", "POST", Replay, 202, async h => await (await h.MainAsync()).Client.PostAsync($"{DeadLetters}/{await h.NewDeadLetterAsync()}/replay", null)),
        NoKey("POST", Replay, $"{DeadLetters}/1/replay"),
        WrongScope("POST", Replay, $"{DeadLetters}/1/replay", OperatorKeys.ReadOnly),
        new("replay: a dead letter whose stored job is unreadable", "POST", Replay, 409, async h =>
            await (await h.MainAsync()).Client.PostAsync($"{DeadLetters}/{await h.UnreadableDeadLetterAsync()}/replay", null)),
        new("replay: an unknown id", "POST", Replay, 404, async h => await (await h.MainAsync()).Client.PostAsync($"{DeadLetters}/999999999/replay", null)),
        RateLimited("POST", Replay, $"{DeadLetters}/1/replay"),
        StoresDown("POST", Replay, $"{DeadLetters}/1/replay"),

        // DELETE /api/v1/dead-letters/{id}
        new("purge: a dead letter", "DELETE", DeadLetter, 204, async h => await (await h.MainAsync()).Client.DeleteAsync($"{DeadLetters}/{await h.NewDeadLetterAsync()}")),
        NoKey("DELETE", DeadLetter, $"{DeadLetters}/1"),
        WrongScope("DELETE", DeadLetter, $"{DeadLetters}/1", OperatorKeys.ReadOnly),
        new("purge: an unknown id", "DELETE", DeadLetter, 404, async h => await (await h.MainAsync()).Client.DeleteAsync($"{DeadLetters}/999999999")),
        RateLimited("DELETE", DeadLetter, $"{DeadLetters}/1"),
        StoresDown("DELETE", DeadLetter, $"{DeadLetters}/1"),

        // POST /api/v1/dead-letters/replay and /purge: the cases run one after the other, so the dead letter made
        // after 'since' is the only one the call can see.
        new("bulk replay: the dead letters of a time window", "POST", BulkReplay, 200, async h =>
        {
            var since = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            await h.NewDeadLetterAsync();
            return await (await h.MainAsync()).Client.PostAsync($"{BulkReplay}?reason=failed&since={since}&limit=1", null);
        }),
        new("bulk replay: every bad parameter at once", "POST", BulkReplay, 400, async h => await (await h.MainAsync()).Client.PostAsync(
            $"{BulkReplay}?reason=nope&since=2026-01-01&until=2026-01-01T00:00:00&cursor=1&limit=1001", null)),
        NoKey("POST", BulkReplay, BulkReplay),
        WrongScope("POST", BulkReplay, BulkReplay, OperatorKeys.ReadOnly),
        RateLimited("POST", BulkReplay, BulkReplay),
        StoresDown("POST", BulkReplay, BulkReplay),
        new("bulk purge: the dead letters of a time window", "POST", BulkPurge, 200, async h =>
        {
            var since = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            await h.NewDeadLetterAsync();
            return await (await h.MainAsync()).Client.PostAsync($"{BulkPurge}?since={since}&limit=1", null);
        }),
        new("bulk purge: every bad parameter at once", "POST", BulkPurge, 400, async h => await (await h.MainAsync()).Client.PostAsync(
            $"{BulkPurge}?reason=nope&limit=0&colour=blue", null)),
        NoKey("POST", BulkPurge, BulkPurge),
        WrongScope("POST", BulkPurge, BulkPurge, OperatorKeys.ReadOnly),
        RateLimited("POST", BulkPurge, BulkPurge),
        StoresDown("POST", BulkPurge, BulkPurge),

        // Scope on the existing operations
        WrongScope("POST", Messages, Messages, OperatorKeys.ReadOnly),
        WrongScope("GET", Message, $"{Messages}/0123456789abcdef", OperatorKeys.SendOnly),

        // Health
        new("liveness", "GET", Liveness, 200, async h => await h.Anonymous(await h.MainAsync()).GetAsync(Liveness)),
        new("readiness", "GET", Readiness, 200, async h => await h.Anonymous(await h.MainAsync()).GetAsync(Readiness)),
        new("readiness: the content store is down", "GET", Readiness, 503, async h => await h.Anonymous(await h.BrokenStorageAsync()).GetAsync(Readiness)),
    ];
}
