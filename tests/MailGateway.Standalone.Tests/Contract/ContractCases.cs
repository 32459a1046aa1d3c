using System.Net.Http.Headers;
using System.Text;
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
    public const string Liveness = "/healthz";
    public const string Readiness = "/readyz";

    /// <summary>Documented (method, path, status) that no case can reach, each with the reason. Empty: every one is exercised.</summary>
    public static IReadOnlyDictionary<(string Method, string Path, int Status), string> NotExercised { get; } =
        new Dictionary<(string Method, string Path, int Status), string>();

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

        // Health
        new("liveness", "GET", Liveness, 200, async h => await h.Anonymous(await h.MainAsync()).GetAsync(Liveness)),
        new("readiness", "GET", Readiness, 200, async h => await h.Anonymous(await h.MainAsync()).GetAsync(Readiness)),
        new("readiness: the content store is down", "GET", Readiness, 503, async h => await h.Anonymous(await h.BrokenStorageAsync()).GetAsync(Readiness)),
    ];
}
