using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using MailGateway.Testing;
using MimeKit;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// Hostile request bodies through the real standalone host. Its capture is the project's own strict inbound listener
/// (a bare CR or LF anywhere refuses the message with 550 5.6.0), so every message the API accepts must arrive there.
/// </summary>
public sealed class HostileInputTests : IAsyncLifetime
{
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        var capturePort = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        _host = await GatewayHost.StartAsync(null, s => s["MailGateway:Capture:Port"] = capturePort);
    }

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    public static TheoryData<string, string?, string?> HostileBodies => new()
    {
        { "bare CR", "line one\rline two\r", null },
        { "bare LF", "line one\nline two\n", "<p>one</p>\n<p>two</p>" },
        { "CR dot CRLF smuggling", "hello\r.\r\nMAIL FROM:<ceo@victim.example>\r\nRCPT TO:<x@victim.example>\r\nDATA\r\nSubject: forged\r\n\r\nforged\r\n.\r\n", null },
        { "LF dot LF smuggling", "hello\n.\nMAIL FROM:<ceo@victim.example>\n", "a\n.\nb" },
        { "lone dots", ".\r\n..\r\n.\r\n.leading\r\n.", ".\n.\n" },
        { "10,000-character lines", new string('x', 10_000) + "\r\n" + new string('y', 10_000), "<p>" + new string('z', 10_000) + "</p>" },
        { "8-bit text", "Grüße, 日本語, Ελληνικά, emoji \U0001F600\r\n", "<p>naïve café</p>" },
        { "control characters", "bell\a, escape\u001b[31m, backspace\b, DEL\u007f, form feed\f, vertical tab\v, end", "<p>\u0001\u0002\u0003</p>" },
        { "mixed line breaks", "a\r\r\nb\n\rc\r\n\r\nd", "\r\n\n\r\r" },
    };

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public async Task A_hostile_body_the_API_accepts_is_accepted_by_the_strict_listener(string name, string? text, string? html)
    {
        var id = await _host.SendAsync(new
        {
            from = "app@example.com",
            to = new[] { "rcpt@example.net" },
            subject = name,
            text,
            html,
        });

        await _host.WaitForStatusAsync(id, "delivered");
        var captured = AssertValidOnTheWire(Assert.Single(CapturedMessages()));
        using var parsed = MimeMessage.Load(new MemoryStream(captured));
        if (text is not null)
        {
            // Every CR or LF that is not part of a CRLF is a line break: the text arrives with CRLF, nothing else changed.
            // (MimeKit's TextBody gives lines ending in LF.)
            var expected = System.Text.RegularExpressions.Regex.Replace(text, "\r\n|\r|\n", "\n");
            Assert.Equal(expected.TrimEnd('\r', '\n'), parsed.TextBody?.TrimEnd('\r', '\n'));
        }
    }

    [Fact]
    public async Task Long_header_values_subject_and_names_arrive_folded_within_998_octets()
    {
        var words = string.Join(' ', Enumerable.Repeat("word", 199)); // 994 characters
        var id = await _host.SendAsync(new
        {
            from = new { address = "app@example.com", name = new string('n', 998) },
            to = new object[] { new { address = "rcpt@example.net", name = "Ünïcödé " + new string('ü', 900) } },
            subject = new string('s', 998),
            text = "x",
            headers = new object[]
            {
                new { name = "X-Words", value = words },
                new { name = "X-Token", value = new string('t', 998) },
                new { name = "X-Utf8", value = new string('é', 998) },
                new { name = "X-Controls", value = "a\u0001b\u007fc\td" },
            },
            attachments = new object[] { new { filename = new string('f', 990) + ".txt", contentType = "text/plain", content = Convert.ToBase64String("hi"u8.ToArray()) } },
        });

        await _host.WaitForStatusAsync(id, "delivered");
        var captured = AssertValidOnTheWire(Assert.Single(CapturedMessages()));
        using var parsed = MimeMessage.Load(new MemoryStream(captured));
        Assert.Equal(new string('s', 998), parsed.Subject);
        Assert.Equal(new string('t', 998), parsed.Headers["X-Token"]);
    }

    [Fact]
    public async Task A_message_rfc822_attachment_is_carried_as_opaque_base64_bytes()
    {
        // A valid message with 8-bit bytes and a 3,008-octet line: MimeKit's BodyBuilder used to parse and rewrite it.
        var inner = Encoding.UTF8.GetBytes("From: a@example.org\r\nSubject: inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße " + new string('x', 3000) + "\r\n");
        var malformed = Encoding.UTF8.GetBytes("this is: not\r\n\ta message\r\n--\r\n\u0000\u00ff");
        var id = await _host.SendAsync(new
        {
            from = "app@example.com",
            to = new[] { "rcpt@example.net" },
            text = "see attached",
            attachments = new object[]
            {
                new { filename = "inner.eml", contentType = "message/rfc822", content = Convert.ToBase64String(inner) },
                new { filename = "broken.eml", contentType = "message/rfc822", content = Convert.ToBase64String(malformed) },
            },
        });

        await _host.WaitForStatusAsync(id, "delivered");
        var captured = AssertValidOnTheWire(Assert.Single(CapturedMessages()));
        using var parsed = MimeMessage.Load(new MemoryStream(captured));
        var parts = parsed.Attachments.Cast<MimePart>().ToList();
        Assert.Equal(2, parts.Count);
        Assert.All(parts, p => Assert.Equal(ContentEncoding.Base64, p.ContentTransferEncoding));
        Assert.All(parts, p => Assert.Equal("message/rfc822", p.ContentType.MimeType));
        Assert.Equal(inner, Decoded(parts[0]));
        Assert.Equal(malformed, Decoded(parts[1]));
    }

    public static TheoryData<string> OddContentTypes => new()
    {
        "message/rfc822",
        "message/partial; id=\"x\"; number=1",
        "message/global",
        "text/plain; charset=no-such-charset",
        "text/html; charset=\"utf-8\"; format=flowed",
        "application/x-unknown; name*=utf-8''%C3%BC.bin",
        "image/svg+xml",
        "APPLICATION/OCTET-STREAM",
        "application/json; a=\"" + new string('p', 900) + "\"",
    };

    [Theory]
    [MemberData(nameof(OddContentTypes))]
    public async Task An_odd_content_type_is_sent_as_opaque_bytes(string contentType)
    {
        var bytes = Encoding.UTF8.GetBytes("From: nobody\r\n\r\nGrüße\r\n" + new string('q', 2000));
        var id = await _host.SendAsync(new
        {
            from = "app@example.com",
            to = new[] { "rcpt@example.net" },
            text = "x",
            attachments = new object[] { new { filename = "f.bin", contentType, content = Convert.ToBase64String(bytes) } },
        });

        await _host.WaitForStatusAsync(id, "delivered");
        using var parsed = MimeMessage.Load(new MemoryStream(AssertValidOnTheWire(Assert.Single(CapturedMessages()))));
        Assert.Equal(bytes, Decoded(Assert.IsAssignableFrom<MimePart>(Assert.Single(parsed.Attachments))));
    }

    public static TheoryData<string, string> RefusedContentTypes => new()
    {
        { "multipart/mixed", "invalid_content_type" },
        { "multipart/alternative; boundary=x", "invalid_content_type" },
        { "MULTIPART/RELATED", "invalid_content_type" },
        { "text", "invalid_content_type" },
        { "text/plain; charset=\"unterminated", "invalid_content_type" },
        { "/", "invalid_content_type" },
        { "a/b\r\nBcc: x@example.org", "invalid_content_type" },
        { "application/x; a=\"" + new string('p', 1000) + "\"", "value_too_long" },
    };

    [Theory]
    [MemberData(nameof(RefusedContentTypes))]
    public async Task A_content_type_that_cannot_be_an_attachment_is_a_field_error_not_a_500(string contentType, string code)
    {
        var (response, body) = await _host.PostAsync(new
        {
            from = "app@example.com",
            to = new[] { "rcpt@example.net" },
            text = "x",
            attachments = new object[] { new { filename = "f.bin", contentType, content = "AAAA" } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single(body.GetProperty("errors").EnumerateArray());
        Assert.Equal("attachments[0].contentType", error.GetProperty("field").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Empty(CapturedMessages());
    }

    [Fact]
    public async Task A_4_MB_folded_header_value_is_refused_before_any_work()
    {
        var folded = string.Join("\r\n\t", Enumerable.Repeat(new string('h', 76), 4 * 1024 * 1024 / 79));

        var (response, body) = await _host.PostAsync(new
        {
            from = "app@example.com",
            to = new[] { "rcpt@example.net" },
            text = "x",
            headers = new[] { new { name = "X-Big", value = folded }, new { name = "X-Big-Unfolded", value = folded.Replace("\r\n\t", " ", StringComparison.Ordinal) } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var codes = body.GetProperty("errors").EnumerateArray().Select(e => (e.GetProperty("field").GetString(), e.GetProperty("code").GetString())).ToList();
        Assert.Contains(("headers[0].value", "forbidden_characters"), codes);
        Assert.Contains(("headers[0].value", "header_value_too_long"), codes);
        Assert.Contains(("headers[1].value", "header_value_too_long"), codes);
    }

    [Fact]
    public async Task Tags_metadata_subject_and_headers_beyond_their_limits_are_field_errors()
    {
        var (response, body) = await _host.PostAsync(new
        {
            from = "app@example.com",
            to = new[] { "rcpt@example.net" },
            subject = new string('s', 999),
            text = "x",
            headers = Enumerable.Range(0, 51).Select(i => new { name = "X-H" + i, value = "v" }).ToArray(),
            tags = Enumerable.Range(0, 100_000).Select(i => "t" + i).ToArray(),
            metadata = Enumerable.Range(0, 51).ToDictionary(i => "k" + i, i => "v"),
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var codes = Codes(body);
        Assert.Contains(("subject", "subject_too_long"), codes);
        Assert.Contains(("headers", "too_many_headers"), codes);
        Assert.Contains(("tags", "too_many_tags"), codes);
        Assert.Contains(("metadata", "too_many_metadata_entries"), codes);
    }

    [Fact]
    public async Task Each_tag_metadata_entry_and_header_value_is_bounded()
    {
        var (response, body) = await _host.PostAsync(new
        {
            from = "app@example.com",
            to = new[] { "rcpt@example.net" },
            text = "x",
            headers = new[]
            {
                new { name = "X-Long", value = new string('v', 999) },
                new { name = "List-Unsubscribe", value = "<https://example.com/" + new string('u', 976) + ">" },
            },
            tags = new[] { "ok", new string('t', 129) },
            metadata = new Dictionary<string, string>
            {
                [new string('k', 41)] = "v",
                ["value"] = new string('v', 501),
            },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var codes = Codes(body);
        Assert.Contains(("headers[0].value", "header_value_too_long"), codes);
        Assert.Contains(("headers[1].value", "header_line_too_long"), codes);
        Assert.Contains(("tags[1]", "tag_too_long"), codes);
        Assert.Contains(codes, c => c.Code == "metadata_key_too_long" && c.Field!.StartsWith("metadata.kkk", StringComparison.Ordinal));
        Assert.Contains(("metadata.value", "metadata_value_too_long"), codes);
        Assert.Equal(5, codes.Count);
    }

    [Theory]
    [InlineData("sendAt", "2030-12-01T09:00:00")]
    [InlineData("sendAt", "2030-12-01T09:00:00.123")]
    [InlineData("expiresAt", "2030-12-01T09:00")]
    [InlineData("expiresAt", "2030-12-01")]
    public async Task A_date_time_without_an_offset_is_refused_with_offset_required(string field, string value)
    {
        using var content = new StringContent(
            $"{{\"from\":\"app@example.com\",\"to\":[\"rcpt@example.net\"],\"text\":\"x\",\"{field}\":\"{value}\"}}", Encoding.UTF8, "application/json");

        var response = await _host.Client.PostAsync("/api/v1/messages", content);

        var problem = await SendApiTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "offset_required");
        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.Contains("offset", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2030-12-01T09:00:00Z", "2030-12-01T09:00:00+00:00")]
    [InlineData("2030-12-01T10:00:00+01:00", "2030-12-01T09:00:00+00:00")]
    [InlineData("2030-12-01T04:00:00.000-05:00", "2030-12-01T09:00:00+00:00")]
    public async Task A_date_time_with_an_offset_is_taken_at_that_offset(string sendAt, string expected)
    {
        using var content = new StringContent(
            $"{{\"from\":\"app@example.com\",\"to\":[\"rcpt@example.net\"],\"text\":\"x\",\"sendAt\":\"{sendAt}\"}}", Encoding.UTF8, "application/json");

        var response = await _host.Client.PostAsync("/api/v1/messages", content);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await GatewayHost.ReadAsync(response)).GetProperty("id").GetString()!;
        var status = await _host.StatusAsync(id);
        Assert.Equal(DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture), status.GetProperty("sendAt").GetDateTimeOffset());
    }

    private static List<(string? Field, string? Code)> Codes(JsonElement body) =>
        [.. body.GetProperty("errors").EnumerateArray().Select(e => (e.GetProperty("field").GetString(), e.GetProperty("code").GetString()))];

    private static byte[] Decoded(MimePart part)
    {
        using var decoded = new MemoryStream();
        part.Content!.DecodeTo(decoded);
        return decoded.ToArray();
    }

    private string[] CapturedMessages()
    {
        var root = Path.Combine(_host.DataDirectory, "capture");
        return Directory.Exists(root) ? Directory.GetFiles(root, "*.eml", SearchOption.AllDirectories) : [];
    }

    // What the listener stored is what the relay received (after dot-unstuffing) plus its Received header.
    private static byte[] AssertValidOnTheWire(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var position = 0;
        while (position < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', position);
            Assert.True(end > position && bytes[end - 1] == '\r', $"bare LF or a missing CRLF at offset {end}");
            var line = bytes.AsSpan(position, end - 1 - position);
            Assert.True(line.IndexOf((byte)'\r') < 0, $"bare CR in the line at offset {position}");
            Assert.True(line.Length <= 998, $"a line of {line.Length} octets at offset {position}");
            Assert.True(line.IndexOfAnyInRange((byte)0x80, (byte)0xFF) < 0, $"8-bit octet at offset {position}");
            position = end + 1;
        }

        return bytes;
    }
}
