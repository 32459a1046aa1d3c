using System.Text;
using MailGateway.Core.Dkim;
using MailGateway.Core.Hosting;
using MailGateway.Core.Messages;
using MailGateway.Testing;
using MimeKit.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Core.Tests.Dkim;

/// <summary>
/// Signing at accept time: the composed bytes with the signature in front verify with MimeKit's verifier and with
/// python3-dkim (dkimpy), for the bodies the composer makes (long lines, 8-bit text, attachments).
/// </summary>
public sealed class DkimMessageSignerTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 1, 0, 0, TimeSpan.Zero);
    private static readonly Lazy<DkimKeyPair> Rsa2048 = new(() => DkimKeyGenerator.CreateRsa("example.com", "s1"));

    private readonly FakeTimeProvider _time = new(Now);
    private readonly string _directory = Directory.CreateTempSubdirectory("mgw-dkim-").FullName;
    private readonly Dictionary<string, string> _records = new(StringComparer.Ordinal);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private DkimKeyOptions Key(DkimKeyPair pair, string domain, string selector, bool active = true)
    {
        var path = Path.Combine(_directory, $"{domain}.{selector}.pem");
        File.WriteAllText(path, pair.PrivateKeyPem);
        _records[$"{selector}._domainkey.{domain}"] = pair.RecordValue;
        return new DkimKeyOptions { Domain = domain, Selector = selector, PrivateKeyPath = path, Active = active };
    }

    private DkimKeyOptions RsaKey(string domain = "example.com", string selector = "s1", bool active = true) =>
        Key(domain == "example.com" && selector == "s1" ? Rsa2048.Value : DkimKeyGenerator.CreateRsa(domain, selector, 1024), domain, selector, active);

    private DkimMessageSigner Signer(params DkimKeyOptions[] keys) =>
        new(Options.Create(new DkimOptions { Keys = [.. keys] }), _time, NullLogger<DkimMessageSigner>.Instance);

    private ComposedMessage Compose(OutboundMessage message) =>
        new MessageComposer(Options.Create(new MessageLimitsOptions()), _time).Compose(message, "0190aaaa");

    private static OutboundMessage Message(string from = "app@example.com") => new()
    {
        From = new EmailAddress(from, "App"),
        To = [new EmailAddress("to@example.org", "To Person")],
        Cc = [new EmailAddress("cc@example.org")],
        Bcc = [new EmailAddress("hidden@example.org")],
        ReplyTo = [new EmailAddress("reply@example.com")],
        Subject = "Hello",
        Text = "Hello.\n.A line that starts with a dot\n..and two\n",
        Headers = [new MessageHeader("List-Unsubscribe", "<https://example.com/u/1>"), new MessageHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")],
    };

    public static TheoryData<string> Bodies => ["long lines", "8-bit text", "attachments", "all"];

    private static OutboundMessage Body(string kind)
    {
        var longLine = string.Concat(Enumerable.Repeat("0123456789 abcdefghij ", 300)) + string.Concat(Enumerable.Repeat("x", 2000));
        const string eightBit = "Grüße aus Köln — 日本語のテキスト, emoji 📨, and a line with trailing spaces   \n";
        var binary = new byte[50_000];
        new Random(7).NextBytes(binary);
        var attachments = new[]
        {
            new Attachment("data.bin", "application/octet-stream", binary),
            new Attachment("notes.txt", "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(eightBit + longLine)),
            new Attachment("logo.png", "image/png", binary.AsMemory(0, 1000), "logo"),
        };
        return kind switch
        {
            "long lines" => Message() with { Text = longLine, Html = $"<p>{longLine}</p>" },
            "8-bit text" => Message() with { Subject = "Grüße 日本", Text = eightBit, Html = $"<p>{eightBit}</p>", From = new EmailAddress("app@example.com", "Zoë Ünïcode") },
            "attachments" => Message() with { Html = "<img src=\"cid:logo\">", Attachments = attachments },
            _ => Message() with { Subject = "Grüße", Text = eightBit + longLine, Html = $"<p>{eightBit}{longLine}</p><img src=\"cid:logo\">", Attachments = attachments },
        };
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Signed_bytes_verify_with_MimeKit_and_dkimpy(string body)
    {
        var composed = Compose(Body(body));
        var signed = Signer(RsaKey()).Sign(composed);

        Assert.True(WireScanIsValid(signed.Bytes));
        Assert.Equal([true], await DkimCheck.MimeKitAsync(signed.Bytes, _records));
        var (valid, output) = await DkimCheck.PythonDkimAsync(signed.Bytes, _records);
        Assert.True(valid, output);

        // The signature goes in front of the composed bytes, which are unchanged.
        Assert.True(signed.Bytes.AsSpan().EndsWith(composed.Bytes));
        Assert.StartsWith("DKIM-Signature: ", Encoding.ASCII.GetString(signed.Bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void The_signature_is_relaxed_relaxed_over_the_expected_headers_with_From_oversigned()
    {
        var signed = Signer(RsaKey()).Sign(Compose(Message()));

        var tags = DkimCheck.SignatureTags(signed.Bytes);
        Assert.Equal("rsa-sha256", tags["a"]);
        Assert.Equal("relaxed/relaxed", tags["c"]);
        Assert.Equal("example.com", tags["d"]);
        Assert.Equal("s1", tags["s"]);
        Assert.Equal(Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), tags["t"]);
        Assert.False(tags.ContainsKey("x"));
        Assert.Equal("from:to:cc:subject:date:message-id:mime-version:content-type:reply-to:list-unsubscribe:list-unsubscribe-post:from", tags["h"].ToLowerInvariant());
        Assert.DoesNotContain("bcc", tags["h"], StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Only_the_headers_present_are_listed()
    {
        var signed = Signer(RsaKey()).Sign(Compose(Message() with { Cc = [], ReplyTo = [], Headers = [] }));

        Assert.Equal("from:to:subject:date:message-id:mime-version:content-type:from", DkimCheck.SignatureTags(signed.Bytes)["h"].ToLowerInvariant());
    }

    [Fact]
    public async Task A_From_added_after_signing_breaks_the_signature()
    {
        var signed = Signer(RsaKey()).Sign(Compose(Message())).Bytes;

        var tampered = Encoding.ASCII.GetBytes("From: attacker@evil.example\r\n").Concat(signed).ToArray();

        Assert.Equal([false], await DkimCheck.MimeKitAsync(tampered, _records));
        Assert.False((await DkimCheck.PythonDkimAsync(tampered, _records)).Valid);
    }

    [Fact]
    public async Task An_Ed25519_and_an_RSA_key_of_one_domain_both_sign()
    {
        // Configured Ed25519 first: RSA still comes first in the message, for verifiers that check only the first.
        var signer = Signer(Key(DkimKeyGenerator.CreateEd25519("example.com", "ed1"), "example.com", "ed1"), RsaKey());

        var signed = signer.Sign(Compose(Body("all"))).Bytes;

        Assert.Equal(["rsa-sha256", "ed25519-sha256"], new[] { 0, 1 }.Select(i => DkimCheck.SignatureTags(signed, i)["a"]));
        Assert.Equal([true, true], await DkimCheck.MimeKitAsync(signed, _records));
        var (valid, output) = await DkimCheck.PythonDkimAsync(signed, _records);
        Assert.True(valid, output);
        Assert.Contains("signatures: 2", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_From_domain_without_a_key_leaves_unsigned()
    {
        var composed = Compose(Message("app@unsigned.example"));

        var result = Signer(RsaKey()).Sign(composed);

        Assert.Same(composed, result);
        Assert.DoesNotContain("DKIM-Signature", Encoding.ASCII.GetString(result.Bytes), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void No_keys_configured_signs_nothing()
    {
        var composed = Compose(Message());

        Assert.Same(composed, Signer().Sign(composed));
    }

    [Fact]
    public void The_key_is_chosen_by_the_header_From_domain_else_its_nearest_parent()
    {
        var signer = Signer(RsaKey(), RsaKey("other.example", "o1"), RsaKey("mail.other.example", "m1"));

        Assert.Equal(("example.com", "s1"), DomainAndSelector(signer.Sign(Compose(Message("a@example.com")))));
        Assert.Equal(("other.example", "o1"), DomainAndSelector(signer.Sign(Compose(Message("a@OTHER.example")))));
        Assert.Equal(("mail.other.example", "m1"), DomainAndSelector(signer.Sign(Compose(Message("a@mail.other.example")))));
        Assert.Equal(("other.example", "o1"), DomainAndSelector(signer.Sign(Compose(Message("a@news.other.example")))));
        Assert.Equal(("example.com", "s1"), DomainAndSelector(signer.Sign(Compose(Message("a@deep.sub.example.com")))));
    }

    [Fact]
    public async Task An_inactive_selector_is_loaded_but_the_active_one_signs()
    {
        var signer = Signer(RsaKey("example.com", "old", active: false), RsaKey());

        var signed = signer.Sign(Compose(Message())).Bytes;

        Assert.Equal(("example.com", "s1"), DomainAndSelector(signed));
        Assert.Equal(2, signer.Keys.Keys.Count);
        Assert.Equal([true], await DkimCheck.MimeKitAsync(signed, _records));
    }

    [Fact]
    public void A_PKCS1_RSA_key_file_is_accepted()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var pair = new DkimKeyPair(rsa.ExportRSAPrivateKeyPem(), "p1._domainkey.example.com", "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()));

        var signer = Signer(Key(pair, "example.com", "p1"));

        Assert.Equal(2048, Assert.Single(signer.Keys.Keys).Bits);
    }

    [Fact]
    public void Bad_keys_are_refused_at_start_naming_the_setting()
    {
        var missing = Path.Combine(_directory, "missing.pem");
        var notPem = Path.Combine(_directory, "not.pem");
        File.WriteAllText(notPem, "hello");
        var publicOnly = Path.Combine(_directory, "public.pem");
        using (var rsa = System.Security.Cryptography.RSA.Create(2048))
        {
            File.WriteAllText(publicOnly, rsa.ExportSubjectPublicKeyInfoPem());
        }

        var small = Path.Combine(_directory, "small.pem");
        using (var rsa = System.Security.Cryptography.RSA.Create(512))
        {
            File.WriteAllText(small, rsa.ExportPkcs8PrivateKeyPem());
        }

        var good = RsaKey();
        var options = new DkimOptions
        {
            Keys =
            [
                new DkimKeyOptions { Domain = "example.com", Selector = "a", PrivateKeyPath = missing },
                new DkimKeyOptions { Domain = "example.com", Selector = "b", PrivateKeyPath = notPem },
                new DkimKeyOptions { Domain = "example.com", Selector = "c", PrivateKeyPath = publicOnly },
                new DkimKeyOptions { Domain = "example.com", Selector = "d", PrivateKeyPath = small },
                new DkimKeyOptions { Domain = "not a domain", Selector = "bad selector!", PrivateKeyPath = "" },
                good,
                new DkimKeyOptions { Domain = "EXAMPLE.com.", Selector = "S1", PrivateKeyPath = good.PrivateKeyPath },
            ],
        };

        var errors = DkimKeyRing.TryLoad(options, out var ring);

        Assert.Null(ring);
        Assert.Collection(errors,
            e => Assert.StartsWith("MailGateway:Dkim:Keys:0:PrivateKeyPath '" + missing + "' cannot be read", e, StringComparison.Ordinal),
            e => Assert.StartsWith("MailGateway:Dkim:Keys:1:PrivateKeyPath", e, StringComparison.Ordinal),
            e => Assert.Equal($"MailGateway:Dkim:Keys:2:PrivateKeyPath '{publicOnly}' holds no RSA or Ed25519 private key.", e),
            e => Assert.Contains("Keys:3:PrivateKeyPath", e, StringComparison.Ordinal),
            e => Assert.Equal("MailGateway:Dkim:Keys:4:Domain 'not a domain' is not a domain name.", e),
            e => Assert.StartsWith("MailGateway:Dkim:Keys:4:Selector 'bad selector!' is not a DNS label", e, StringComparison.Ordinal),
            e => Assert.Equal("MailGateway:Dkim:Keys:4:PrivateKeyPath is required (a PEM file with the private key).", e),
            e => Assert.Equal("MailGateway:Dkim:Keys:6: selector 's1' of 'example.com' is configured twice.", e));
        Assert.Contains("512 bits; at least 1024", errors[3], StringComparison.Ordinal);
    }

    [Fact]
    public void Two_active_keys_of_one_algorithm_for_a_domain_are_refused()
    {
        var errors = DkimKeyRing.TryLoad(new DkimOptions { Keys = [RsaKey(), RsaKey("example.com", "s2")] }, out _);

        Assert.Equal("MailGateway:Dkim:Keys: 'example.com' has 2 active rsa-sha256 keys (selectors s1, s2); set Active: false on all but the one that signs.", Assert.Single(errors));
    }

    [Fact]
    public void A_host_with_a_bad_key_stops_at_start_with_the_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailGateway:Dkim:Keys:0:Domain"] = "example.com",
            ["MailGateway:Dkim:Keys:0:Selector"] = "s1",
            ["MailGateway:Dkim:Keys:0:PrivateKeyPath"] = Path.Combine(_directory, "nope.pem"),
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddMessageComposition();
        using var provider = services.BuildServiceProvider();
        var error = new StringWriter();

        Assert.False(StartupValidation.TryValidate(provider, error));
        Assert.StartsWith("Invalid configuration in MailGateway:Dkim: MailGateway:Dkim:Keys:0:PrivateKeyPath", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_that_reads_PEM_files_only_refuses_a_Key_Vault_key_naming_it()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailGateway:Dkim:Keys:0:Domain"] = "example.com",
            ["MailGateway:Dkim:Keys:0:Selector"] = "s1",
            ["MailGateway:Dkim:Keys:0:KeyVaultUri"] = "https://kv-dkim.vault.azure.net/",
            ["MailGateway:Dkim:Keys:0:SecretName"] = "dkim-example-com",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddMessageComposition();
        using var provider = services.BuildServiceProvider();
        var error = new StringWriter();

        Assert.False(StartupValidation.TryValidate(provider, error));
        Assert.Equal(
            "Invalid configuration in MailGateway:Dkim: MailGateway:Dkim:Keys:0:KeyVaultUri is set, but this host reads DKIM keys from PEM files only "
            + "(Key Vault keys are read by the Azure hosts); set MailGateway:Dkim:Keys:0:PrivateKeyPath.",
            error.ToString().Trim());
    }

    [Fact]
    public void A_PEM_text_is_parsed_with_its_source_named_in_every_problem()
    {
        Assert.Equal(DkimSignatureAlgorithm.RsaSha256, DkimKeyRing.ReadPrivateKey(Rsa2048.Value.PrivateKeyPem, "here", out var none)!.Algorithm);
        Assert.Null(none);

        Assert.Null(DkimKeyRing.ReadPrivateKey(new string('A', DkimKeyRing.MaxPemChars + 1), "Keys:0 secret", out var tooLong));
        Assert.StartsWith("Keys:0 secret is larger than a PEM private key", tooLong, StringComparison.Ordinal);
        Assert.Null(DkimKeyRing.ReadPrivateKey("not a key", "Keys:0 secret", out var garbage));
        Assert.Equal("Keys:0 secret holds no RSA or Ed25519 private key.", garbage);
    }

    [Fact]
    public void The_generated_records_hold_the_public_keys()
    {
        var rsa = DkimKeyGenerator.CreateRsa("Example.COM", "s1", 2048);
        var ed = DkimKeyGenerator.CreateEd25519("example.com", "ed1");

        Assert.Equal("s1._domainkey.example.com", rsa.RecordName);
        Assert.StartsWith("v=DKIM1; k=rsa; p=MII", rsa.RecordValue, StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", rsa.PrivateKeyPem, StringComparison.Ordinal);
        Assert.StartsWith("v=DKIM1; k=ed25519; p=", ed.RecordValue, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(ed.RecordValue.Split("p=")[1]).Length);

        // TXT strings hold at most 255 octets: the zone-file line splits the value.
        Assert.All(System.Text.RegularExpressions.Regex.Matches(rsa.ZoneFileLine, "\"([^\"]*)\"").Select(m => m.Groups[1].Value), s => Assert.True(s.Length <= 255));
        Assert.Equal(rsa.RecordValue, string.Concat(System.Text.RegularExpressions.Regex.Matches(rsa.ZoneFileLine, "\"([^\"]*)\"").Select(m => m.Groups[1].Value)));
        Assert.Throws<ArgumentException>(() => DkimKeyGenerator.CreateRsa("example.com", "bad selector"));
    }

    private static (string Domain, string Selector) DomainAndSelector(ComposedMessage signed) => DomainAndSelector(signed.Bytes);

    private static (string Domain, string Selector) DomainAndSelector(byte[] signed)
    {
        var tags = DkimCheck.SignatureTags(signed);
        return (tags["d"], tags["s"]);
    }

    private static bool WireScanIsValid(byte[] bytes)
    {
        // CRLF only, no line over 998 octets, 7-bit: what the composer guarantees holds for the signed bytes too.
        var text = Encoding.Latin1.GetString(bytes);
        var lines = text.Split("\r\n");
        return !lines.Any(l => l.Contains('\r', StringComparison.Ordinal) || l.Contains('\n', StringComparison.Ordinal) || l.Length > 998)
            && bytes.All(b => b < 0x80);
    }
}
