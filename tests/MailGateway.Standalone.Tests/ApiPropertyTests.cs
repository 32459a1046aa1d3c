using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// The API's promises as properties over generated requests, through the real standalone host on loopback. Its
/// capture is the project's own strict inbound listener, reached over a real SMTP session. CsCheck prints the seed of
/// a failing case (replay it with <c>CsCheck_Seed=…</c>).
/// </summary>
public sealed class ApiPropertyTests : IAsyncLifetime
{
    private static readonly string[] Fields =
    [
        "from", "to", "cc", "bcc", "replyTo", "subject", "text", "html", "headers", "attachments", "tags", "metadata",
        "sendAt", "expiresAt", "address", "name", "value", "filename", "contentType", "content", "contentId",
    ];

    private GatewayHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await GatewayHost.StartAsync(null, s => s["MailGateway:Capture:Port"] = FreePort.Next().ToString(CultureInfo.InvariantCulture));

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    private static readonly Gen<string> Text = Gen.Frequency(
        (4, Gen.OneOf("hello", "\r\n", "\n", "\r", ".", "\r\n.\r\n", "..", "Grüße", "😀", "<p>x</p>", "=?utf-8?q?x?=", "\t", " ", "\"", "\\")),
        (1, Gen.String),
        (1, Gen.Const(new string('x', 1500)))).Array[1, 30].Select(p => string.Concat(p));

    // Header text: no CR, LF or NUL (refused in headers), at most one line of it.
    private static readonly Gen<string> HeaderText = Text.Select(t =>
    {
        var clean = new string([.. t.Where(c => c is not ('\r' or '\n' or '\0'))]);
        return clean.Length > 900 ? clean[..900] : clean;
    });

    private static readonly Gen<string> Name = Gen.Char['!', '~'].Array[1, 30].Select(c => new string(c));

    private static readonly Gen<string> Recipient = Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789.-_+"].Array[1, 20]
        .Select(c => new string(c).Trim('.') + "@example.net");

    // A send request the API accepts most of the time (and refuses with field errors otherwise).
    private static readonly Gen<JsonObject> Message = Gen.Select(
        Recipient.Array[1, 3], Name.Null(0.5), HeaderText.Null(0.3), Text.Null(0.6), Text.Null(0.2),
        Gen.Select(Name, HeaderText).Array[0, 3], Gen.Byte.Array[0, 2000].Array[0, 2],
        (to, name, subject, html, text, headers, attachments) =>
        {
            var message = new JsonObject
            {
                ["from"] = new JsonObject { ["address"] = "app@example.com", ["name"] = name },
                ["to"] = new JsonArray([.. to.Select(t => (JsonNode)JsonValue.Create(t))]),
                ["subject"] = subject,
                ["text"] = text ?? (html is null ? "x" : null),
                ["html"] = html,
                ["headers"] = new JsonArray([.. headers.Select((h, i) => (JsonNode)new JsonObject { ["name"] = "X-P" + i + h.Item1.Replace(':', '-'), ["value"] = h.Item2 })]),
                ["attachments"] = new JsonArray([.. attachments.Select((a, i) => (JsonNode)new JsonObject { ["filename"] = $"f{i}.bin", ["contentType"] = "application/octet-stream", ["content"] = Convert.ToBase64String(a) })]),
            };
            return message;
        });

    // Any JSON value, nested, with the request's own property names most of the time.
    private static readonly Gen<JsonNode?> AnyJson = Gen.Recursive<JsonNode?>((depth, inner) => Gen.Frequency(
        (3, Gen.OneOf<JsonNode?>(null, JsonValue.Create(true), JsonValue.Create(0), JsonValue.Create(-1), JsonValue.Create(1e300), JsonValue.Create(long.MaxValue),
            JsonValue.Create(""), JsonValue.Create("2030-01-01T00:00:00Z"), JsonValue.Create("2030-01-01T00:00:00"), JsonValue.Create("AAAA"),
            JsonValue.Create("app@example.com"), JsonValue.Create("a@b@c"), JsonValue.Create("\r\n.\r\n"), JsonValue.Create("\0"), JsonValue.Create("=?x?="))),
        (2, Gen.String.Select(s => (JsonNode?)JsonValue.Create(s))),
        (depth < 4 ? 2 : 0, inner.Array[0, 4].Select(items => (JsonNode?)new JsonArray([.. items.Select(i => i?.DeepClone())]))),
        (depth < 4 ? 3 : 0, Gen.Select(Gen.Frequency((5, Gen.OneOf(Fields)), (1, Gen.String)), inner).Array[0, 6]
            .Select(pairs =>
            {
                var o = new JsonObject();
                foreach (var (key, value) in pairs)
                {
                    o[key] = value?.DeepClone();
                }

                return (JsonNode?)o;
            }))));

    private static readonly Gen<byte[]> AnyBody = Gen.Frequency(
        (4, AnyJson.Select(j => Encoding.UTF8.GetBytes(j?.ToJsonString() ?? "null"))),
        (3, Gen.Select(Message, AnyJson, Gen.OneOf(Fields)).Select((m, j, f) =>
        {
            m[f] = j?.DeepClone();
            return Encoding.UTF8.GetBytes(m.ToJsonString());
        })),
        (2, Gen.Select(Message, Gen.Int[0, 10_000], Gen.Byte).Select((m, at, b) =>
        {
            var bytes = Encoding.UTF8.GetBytes(m.ToJsonString());
            var position = at % Math.Max(1, bytes.Length);
            return at % 2 == 0 ? bytes[..position] : [.. bytes[..position], b, .. bytes[(position + 1)..]];
        })),
        (1, Gen.Byte.Array[0, 200]));

    [Fact]
    public async Task Validation_is_total_any_body_gets_a_2xx_or_a_4xx_problem_never_a_5xx()
    {
        await AnyBody.SampleAsync(async body =>
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _host.Client.PostAsync("/api/v1/messages", content);

            var status = (int)response.StatusCode;
            Assert.True(status is 202 or 400 or 403 or 413 or 422, $"HTTP {status}: {await response.Content.ReadAsStringAsync()}");
            if (status != 202)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }, iter: 400, threads: 2, print: b => Encoding.UTF8.GetString(b));
    }

    [Fact]
    public async Task Every_message_the_API_accepts_is_accepted_byte_for_byte_by_the_strict_listener_over_SMTP()
    {
        var accepted = 0;
        var refusal = "";
        await Message.SampleAsync(async message =>
        {
            // Scheduled a second ahead, so the stored content can be read before delivery removes it.
            message["sendAt"] = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            var (response, body) = await _host.PostAsync(message);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                refusal = body.ToString();
                return;
            }

            accepted++;
            var id = body.GetProperty("id").GetString()!;
            var record = await _host.Services.GetRequiredService<IMessageStatusStore>().GetAsync(id, CancellationToken.None);
            var stored = await _host.Services.GetRequiredService<IMessageContentStore>().ReadAllAsync(record!.ContentReference!);
            await _host.WaitForStatusAsync(id, "delivered");

            var captured = Assert.Single(CapturedWith(id));
            Assert.Equal(stored, WithoutTraceHeader(captured));
        }, iter: 8, threads: 1, print: m => m.ToJsonString());

        Assert.True(accepted >= 4, $"only {accepted} of 8 generated messages were accepted; one refusal: {refusal}");
    }

    [Fact]
    public async Task The_same_Idempotency_Key_and_body_in_concurrent_requests_gives_one_id_and_one_delivery()
    {
        await Gen.Select(Message, Gen.Int[2, 10]).SampleAsync(async (message, concurrent) =>
        {
            var key = "prop-" + Guid.NewGuid().ToString("N");
            var answers = await Task.WhenAll(Enumerable.Range(0, concurrent).Select(_ => Task.Run(() => _host.PostAsync(message, key))));

            // The generator makes an invalid message now and then (e.g. a recipient "@example.net"): then every
            // concurrent request gets the same refusal, and nothing is accepted.
            var status = Assert.Single(answers.Select(a => a.Response.StatusCode).Distinct());
            if (status != HttpStatusCode.Accepted)
            {
                Assert.Equal(HttpStatusCode.BadRequest, status);
                Assert.Single(answers.Select(a => a.Body.GetProperty("errors").GetRawText()).Distinct());
                return;
            }

            var id = Assert.Single(answers.Select(a => a.Body.GetProperty("id").GetString()).Distinct());
            await _host.WaitForStatusAsync(id!, "delivered");
            Assert.Single(CapturedWith(id!));
        }, iter: 6, threads: 1, print: t => $"{t.Item2} × {t.Item1.ToJsonString()}");
    }

    private IEnumerable<byte[]> CapturedWith(string id)
    {
        var root = Path.Combine(_host.DataDirectory, "capture");
        var marker = Encoding.ASCII.GetBytes($"<{id}@");
        return Directory.Exists(root)
            ? Directory.GetFiles(root, "*.eml", SearchOption.AllDirectories).Select(File.ReadAllBytes).Where(b => b.AsSpan().IndexOf(marker) >= 0).ToList()
            : [];
    }

    // The listener prepends one Received header (folded over continuation lines); everything after it is what the relay sent.
    private static byte[] WithoutTraceHeader(byte[] captured)
    {
        Assert.True(captured.AsSpan().StartsWith("Received: "u8), "the capture has no Received header first");
        var position = 0;
        do
        {
            position = captured.AsSpan(position).IndexOf("\r\n"u8) + position + 2;
        }
        while (position < captured.Length && captured[position] is (byte)' ' or (byte)'\t');

        return captured[position..];
    }
}
