using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MailGateway.Listener;
using MailGateway.Testing;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// What a reviewer notices first: the data folder and every file in it are the gateway user's only (700 / 600);
/// every error answer is problem+json, also routing's own 404 and 405 and a body the server cannot parse; every
/// answer says <c>X-Content-Type-Options: nosniff</c>.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ReviewerFindingsTests
{
    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Every folder under (and including) <paramref name="root"/> is 700 and every file 600; returns the files.</summary>
    private static List<string> AssertOwnerOnly(string root)
    {
        Assert.Equal(Folder, File.GetUnixFileMode(root));
        var wrong = new List<string>();
        foreach (var folder in Directory.GetDirectories(root, "*", SearchOption.AllDirectories))
        {
            if (File.GetUnixFileMode(folder) != Folder)
            {
                wrong.Add($"{folder}: {File.GetUnixFileMode(folder)}");
            }
        }

        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories).ToList();
        foreach (var file in files)
        {
            if (File.GetUnixFileMode(file) != File600)
            {
                wrong.Add($"{file}: {File.GetUnixFileMode(file)}");
            }
        }

        Assert.True(wrong.Count == 0, "Not owner-only:\n" + string.Join('\n', wrong));
        return files;
    }

    [Fact]
    public async Task The_data_folder_is_700_and_the_database_stored_content_and_captured_mail_are_600()
    {
        await using var host = await GatewayHost.StartAsync(null, s =>
        {
            s["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
            s["MailGateway:Storage:ContentStore"] = "Files";
            s["MailGateway:Delivery:DeleteContentAfterDelivery"] = "false";
        });

        var id = await host.SendAsync(GatewayHost.Message("Private"));
        await host.WaitForStatusAsync(id, "delivered");
        var capture = Path.Combine(host.DataDirectory, "capture", "inbound");
        await Poll.UntilAsync(() => Directory.GetFiles(capture, "*.json", SearchOption.AllDirectories).Length == 1, () => "the captured message's .json");

        var files = AssertOwnerOnly(host.DataDirectory).Select(f => Path.GetRelativePath(host.DataDirectory, f).Replace('\\', '/')).ToList();
        Assert.Contains("gateway.db", files);
        Assert.Contains("gateway.db-wal", files);
        Assert.Contains("gateway.db-shm", files);
        Assert.Contains(files, f => f.StartsWith("messages/", StringComparison.Ordinal) && f.EndsWith(".eml", StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith("capture/inbound/", StringComparison.Ordinal) && f.EndsWith(".eml", StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith("capture/inbound/", StringComparison.Ordinal) && f.EndsWith(".json", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_data_folder_made_world_readable_before_is_700_after_the_start()
    {
        var data = GatewayHost.NewDataDirectory();
        Directory.CreateDirectory(data);
        File.SetUnixFileMode(data, Folder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, dataDirectory: data);

        await host.SendAsync();

        AssertOwnerOnly(data);
    }

    [Fact]
    public async Task Received_mail_is_600_in_700_folders()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, s =>
        {
            s["MailGateway:Inbound:Domains:0"] = "inbound.test";
            s["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1";
            s["MailGateway:Inbound:Endpoints:0:Port"] = "0";
        });
        var port = host.Services.GetRequiredService<InboundListenerService>().LocalEndpoints.Single().Port;
        using (var client = new SmtpClient { LocalDomain = "client.example" })
        {
            await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None);
            await client.SendAsync(new MimeMessage([MailboxAddress.Parse("someone@remote.example")], [MailboxAddress.Parse("support@inbound.test")], "Private", new TextPart("plain") { Text = "x" }));
            await client.DisconnectAsync(quit: true);
        }

        var files = AssertOwnerOnly(host.DataDirectory);
        Assert.Contains(files, f => f.EndsWith(".eml", StringComparison.Ordinal) && f.Contains("inbound", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(".json", StringComparison.Ordinal) && f.Contains("inbound", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unknown_path_wrong_method_and_a_malformed_body_are_problems_and_every_answer_says_nosniff()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);
        var endpoint = host.Client.BaseAddress!;

        var notFound = await RawAsync(endpoint, "GET /nothing/here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        AssertProblem(notFound, 404);

        var wrongMethod = await RawAsync(endpoint, "DELETE /api/v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        AssertProblem(wrongMethod, 405);
        Assert.Equal("GET, POST", wrongMethod.Headers["allow"]);

        // A chunked body whose chunk size is not hex: the server refuses it while the API reads it.
        var malformed = await RawAsync(endpoint,
            "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + GatewayHost.AppKey + "\r\n" +
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
        AssertProblem(malformed, 400);

        foreach (var (method, path) in new[] { ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/openapi/v1.json"), ("GET", "/api/v1/messages/unknown") })
        {
            var answer = await RawAsync(endpoint, $"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {GatewayHost.AppKey}\r\nConnection: close\r\n\r\n");
            Assert.Equal("nosniff", answer.Headers.GetValueOrDefault("x-content-type-options"));
        }

        var (accepted, _) = await host.PostAsync(GatewayHost.Message());
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("nosniff", Assert.Single(accepted.Headers.GetValues("X-Content-Type-Options")));
    }

    private static void AssertProblem(RawAnswer answer, int status)
    {
        Assert.Equal(status, answer.Status);
        Assert.Equal("application/problem+json", answer.Headers.GetValueOrDefault("content-type"));
        Assert.Equal("nosniff", answer.Headers.GetValueOrDefault("x-content-type-options"));
        using var body = JsonDocument.Parse(answer.Body);
        Assert.Equal(status, body.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("detail").GetString()));
    }

    private sealed record RawAnswer(int Status, Dictionary<string, string> Headers, string Body);

    /// <summary>Sends <paramref name="request"/> as is and reads the answer to the end of the connection (Connection: close).</summary>
    private static async Task<RawAnswer> RawAsync(Uri endpoint, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint.Host, endpoint.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var buffer = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await stream.CopyToAsync(buffer, timeout.Token);
        var bytes = buffer.ToArray();
        var split = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(split > 0, "No complete answer: " + Encoding.UTF8.GetString(bytes));
        var head = Encoding.ASCII.GetString(bytes, 0, split).Split("\r\n");
        var headers = head.Skip(1).Select(h => h.Split(':', 2)).ToDictionary(h => h[0].Trim().ToLowerInvariant(), h => h[1].Trim());
        var payload = bytes.AsSpan(split + 4);
        var body = headers.GetValueOrDefault("transfer-encoding") == "chunked"
            ? Encoding.UTF8.GetString(Dechunk(payload))
            : Encoding.UTF8.GetString(payload);

        return new RawAnswer(int.Parse(head[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), headers, body);
    }

    /// <summary>Joins the chunks of a chunked body; chunk sizes count bytes, so this works on bytes, not on decoded text.</summary>
    private static byte[] Dechunk(ReadOnlySpan<byte> chunked)
    {
        using var result = new MemoryStream();
        while (true)
        {
            var end = chunked.IndexOf("\r\n"u8);
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked[..end]), 16);
            if (size == 0)
            {
                return result.ToArray();
            }

            result.Write(chunked.Slice(end + 2, size));
            chunked = chunked[(end + 2 + size + 2)..];
        }
    }
}
