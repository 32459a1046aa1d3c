using System.Text;
using System.Text.RegularExpressions;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// DKIM end to end: keys made by <c>create-dkim-key</c>, messages sent through the API, signed at accept, stored in
/// the SQLite pipeline, delivered to a real SMTP relay; what the relay received (after its dot-unstuffing) verifies
/// with MimeKit's verifier and with python3-dkim, the public keys taken from the records the command printed.
/// </summary>
public sealed partial class DkimDeliveryTests : IAsyncLifetime
{
    private readonly string _keys = Directory.CreateTempSubdirectory("mgw-dkim-keys-").FullName;
    private readonly Dictionary<string, string> _records = new(StringComparer.Ordinal);
    private TestRelay _relay = null!;
    private GatewayHost _host = null!;
    private Action<Dictionary<string, string?>> _dkimSettings = null!;

    public async Task InitializeAsync()
    {
        var example = CreateKey("example.com", "s1");
        var other = CreateKey("a.other.example", "k1", "ed25519");
        _relay = await TestRelay.StartAsync();
        _dkimSettings = settings =>
        {
            settings["MailGateway:Dkim:Keys:0:Domain"] = "example.com";
            settings["MailGateway:Dkim:Keys:0:Selector"] = "s1";
            settings["MailGateway:Dkim:Keys:0:PrivateKeyPath"] = example;
            settings["MailGateway:Dkim:Keys:1:Domain"] = "a.other.example";
            settings["MailGateway:Dkim:Keys:1:Selector"] = "k1";
            settings["MailGateway:Dkim:Keys:1:PrivateKeyPath"] = other;
        };
        _host = await GatewayHost.StartAsync(_relay, _dkimSettings);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }

    /// <summary>Runs the command in this process and keeps the record it printed.</summary>
    private string CreateKey(string domain, string selector, string algorithm = "rsa")
    {
        var path = Path.Combine(_keys, $"{domain}.{selector}.pem");
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = CreateDkimKeyCommand.Run(["--domain", domain, "--selector", selector, "--out", path, "--algorithm", algorithm], output, error);
        Assert.True(exit == 0, error.ToString());
        _records[RecordName().Match(output.ToString()).Groups[1].Value] = RecordValue().Match(output.ToString()).Groups[1].Value.TrimEnd();
        return path;
    }

    public static TheoryData<string> Bodies => ["long lines", "8-bit text", "attachments", "dots"];

    private static object Body(string kind)
    {
        var longLine = string.Concat(Enumerable.Repeat("0123456789abcdefghij", 250)) + " " + string.Concat(Enumerable.Repeat("word ", 600));
        const string eightBit = "Grüße aus Köln — 日本語のテキスト 📨, trailing spaces   \nsecond line\t\n";
        var binary = new byte[40_000];
        new Random(11).NextBytes(binary);
        var from = new { address = "app@example.com", name = "Zoë App" };
        var to = new[] { "rcpt@example.net" };
        var headers = new[] { new { name = "List-Unsubscribe", value = "<https://example.com/u/1>" } };
        return kind switch
        {
            "long lines" => new { from, to, headers, subject = "long lines", text = longLine, html = $"<p>{longLine}</p>" },
            "8-bit text" => new { from, to, headers, subject = "Grüße 日本語", text = eightBit, html = $"<p>{eightBit}</p>" },
            "attachments" => (object)new
            {
                from, to, headers, subject = "attachments", text = eightBit, html = "<p>logo <img src=\"cid:logo\"></p>",
                attachments = new object[]
                {
                    new { filename = "data.bin", contentType = "application/octet-stream", content = Convert.ToBase64String(binary) },
                    new { filename = "notes.txt", contentType = "text/plain; charset=utf-8", content = Convert.ToBase64String(Encoding.UTF8.GetBytes(eightBit + longLine)) },
                    new { filename = "logo.png", contentType = "image/png", content = Convert.ToBase64String(binary.AsSpan(0, 2000)), contentId = "logo" },
                },
            },
            // Lines the SMTP client dot-stuffs and the relay unstuffs; the last line is a lone dot.
            _ => new { from, to, headers, subject = "dots", text = ".\n..\n.leading dot\n...three\nend\n." },
        };
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Delivered_messages_verify_with_MimeKit_and_dkimpy(string body)
    {
        var id = await _host.SendAsync(Body(body));
        await _host.WaitForStatusAsync(id, "delivered");

        var relayed = Assert.Single(_relay.Messages, m => Encoding.ASCII.GetString(m.Data).Contains($"<{id}@", StringComparison.Ordinal)).Data;

        Assert.Equal([true], await DkimCheck.MimeKitAsync(relayed, _records));
        var (valid, output) = await DkimCheck.PythonDkimAsync(relayed, _records);
        Assert.True(valid, output);
        var tags = DkimCheck.SignatureTags(relayed);
        Assert.Equal(("example.com", "s1", "rsa-sha256", "relaxed/relaxed"), (tags["d"], tags["s"], tags["a"], tags["c"]));
        Assert.EndsWith(":from", tags["h"], StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_stored_bytes_are_signed_once_and_sent_as_they_are_by_a_worker_without_keys()
    {
        var data = GatewayHost.NewDataDirectory();
        var accepting = await GatewayHost.StartAsync(_relay, settings =>
        {
            _dkimSettings(settings);
            settings["MailGateway:DeliveryWorker:Enabled"] = "false";
        }, dataDirectory: data);
        var id = await accepting.SendAsync(Body("attachments"));
        var record = await accepting.Services.GetRequiredService<IMessageStatusStore>().GetAsync(id, CancellationToken.None);
        var stored = await accepting.Services.GetRequiredService<IMessageContentStore>().ReadAllAsync(record!.ContentReference!);
        await accepting.StopAsync(); // the data stays for the next start, which deletes it when disposed

        // No keys in the delivering process: the signature was made at accept and travels with the stored bytes.
        await using var delivering = await GatewayHost.StartAsync(_relay, dataDirectory: data);
        await delivering.WaitForStatusAsync(id, "delivered");

        var relayed = Relayed(id);
        Assert.Equal(stored, relayed);
        Assert.StartsWith("DKIM-Signature: ", Encoding.ASCII.GetString(stored), StringComparison.Ordinal);
        Assert.Equal([true], await DkimCheck.MimeKitAsync(relayed, _records));
        var (valid, output) = await DkimCheck.PythonDkimAsync(relayed, _records);
        Assert.True(valid, output);
    }

    [Fact]
    public async Task The_key_is_the_header_From_domain_and_a_domain_without_one_leaves_unsigned()
    {
        using var other = new HttpClient { BaseAddress = _host.Client.BaseAddress };
        other.DefaultRequestHeaders.Authorization = new("Bearer", GatewayHost.OtherKey);

        var signedId = await SendAsOtherAsync(other, "news@a.other.example");
        var unsignedId = await SendAsOtherAsync(other, "news@b.other.example");
        // Status is the owner's: wait at the relay.
        await Poll.UntilAsync(() => IsRelayed(signedId) && IsRelayed(unsignedId), () => "both messages reach the relay");

        var signed = Relayed(signedId);
        var tags = DkimCheck.SignatureTags(signed);
        Assert.Equal(("a.other.example", "k1", "ed25519-sha256"), (tags["d"], tags["s"], tags["a"]));
        Assert.Equal([true], await DkimCheck.MimeKitAsync(signed, _records));
        var (valid, output) = await DkimCheck.PythonDkimAsync(signed, _records);
        Assert.True(valid, output);
        Assert.DoesNotContain("DKIM-Signature", Encoding.ASCII.GetString(Relayed(unsignedId)), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_command_writes_a_key_readable_only_by_its_owner_and_prints_the_record()
    {
        var path = Path.Combine(_keys, "new", "example.org.s2.pem");

        var (exit, stdout, stderr) = await HostProcess.RunToExitAsync("MailGateway.Standalone.dll", "create-dkim-key", "--domain", "example.org", "--selector", "s2", "--out", path);

        Assert.True(exit == 0, stderr);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
        Assert.Equal("s2._domainkey.example.org", RecordName().Match(stdout).Groups[1].Value);
        Assert.StartsWith("v=DKIM1; k=rsa; p=MII", RecordValue().Match(stdout).Groups[1].Value, StringComparison.Ordinal);
        Assert.Contains("s2._domainkey.example.org. IN TXT ( \"v=DKIM1; k=rsa; p=", stdout, StringComparison.Ordinal);
        Assert.Contains($"MailGateway:Dkim:Keys:0:PrivateKeyPath={path}", stdout, StringComparison.Ordinal);

        // Never over an existing key.
        var before = await File.ReadAllTextAsync(path);
        var again = await HostProcess.RunToExitAsync("MailGateway.Standalone.dll", "create-dkim-key", "--domain", "example.org", "--selector", "s2", "--out", path);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("exists; a key is never overwritten", again.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(path));
    }

    [Theory]
    [InlineData("--domain example.org --selector s1", "--domain, --selector and --out are required.")]
    [InlineData("--domain example.org --selector s1 --out k.pem --bits 512", "--bits must be one of 1024, 2048, 3072, 4096.")]
    [InlineData("--domain example.org --selector s1 --out k.pem --algorithm dsa", "--algorithm must be rsa or ed25519.")]
    [InlineData("--domain bad_domain! --selector s1 --out k.pem", "'bad_domain!' is not a domain name.")]
    [InlineData("--domain example.org --selector s1 --out k.pem --color", "--color needs a value.")]
    public void The_command_refuses_bad_arguments_with_the_usage(string arguments, string problem)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var exit = CreateDkimKeyCommand.Run(arguments.Split(' ').Select(a => a.Replace("k.pem", Path.Combine(_keys, "k.pem"), StringComparison.Ordinal)).ToArray(), output, error);

        Assert.Equal(1, exit);
        Assert.Contains(problem, error.ToString(), StringComparison.Ordinal);
        Assert.Contains("usage: create-dkim-key", error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_keys, "k.pem")));
    }

    [Fact]
    public async Task A_gateway_with_an_unreadable_key_stops_at_start_naming_the_setting()
    {
        var data = GatewayHost.NewDataDirectory();
        var settings = GatewayHost.Settings(null, data);
        settings["MailGateway:Dkim:Keys:0:Domain"] = "example.com";
        settings["MailGateway:Dkim:Keys:0:Selector"] = "s1";
        settings["MailGateway:Dkim:Keys:0:PrivateKeyPath"] = Path.Combine(_keys, "missing.pem");
        var args = new List<string> { "--urls=http://127.0.0.1:0" };
        args.AddRange(settings.Where(s => s.Key != "urls").Select(s => $"--{s.Key}={s.Value}"));

        var (exit, stdout, stderr) = await HostProcess.RunToExitAsync("MailGateway.Standalone.dll", [.. args]);
        if (Directory.Exists(data))
        {
            Directory.Delete(data, recursive: true);
        }

        Assert.Equal(2, exit);
        Assert.Contains("Invalid configuration in MailGateway:Dkim: MailGateway:Dkim:Keys:0:PrivateKeyPath", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    private static async Task<string> SendAsOtherAsync(HttpClient client, string from)
    {
        var response = await client.PostAsync("/api/v1/messages", GatewayHost.Json(new { from, to = new[] { "rcpt@example.net" }, subject = "hi", text = "hello" }));
        var body = await GatewayHost.ReadAsync(response);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, body.ToString());
        return body.GetProperty("id").GetString()!;
    }

    private bool IsRelayed(string id) => _relay.Messages.Any(m => Encoding.ASCII.GetString(m.Data).Contains($"<{id}@", StringComparison.Ordinal));

    private byte[] Relayed(string id) =>
        Assert.Single(_relay.Messages, m => Encoding.ASCII.GetString(m.Data).Contains($"<{id}@", StringComparison.Ordinal)).Data;

    [GeneratedRegex(@"name:\s+(\S+)")]
    private static partial Regex RecordName();

    [GeneratedRegex(@"value:\s+(.+)")]
    private static partial Regex RecordValue();
}
