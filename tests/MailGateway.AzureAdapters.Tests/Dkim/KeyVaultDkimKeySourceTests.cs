using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using MailGateway.AzureAdapters.Dkim;
using MailGateway.Core.Dkim;
using MailGateway.Core.Hosting;
using MailGateway.Core.Messages;
using MailGateway.Testing;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.AzureAdapters.Tests.Dkim;

/// <summary>
/// DKIM keys from Key Vault secrets through the SDK's seams (<see cref="FakeSecretClient"/>: <see cref="SecretClient"/>'s
/// virtual read, values from <see cref="SecretModelFactory"/>): the read at start, rotation to a new version and a new
/// selector without a restart, a failure at start (the host stops naming the setting), a failure later (the last good
/// version keeps signing, the health check turns Degraded). Every signature is checked with MimeKit's verifier and with
/// python3-dkim, the public key given locally.
/// </summary>
public sealed class KeyVaultDkimKeySourceTests : IDisposable
{
    private static readonly Uri Vault = new("https://kv-dkim-test.vault.azure.net/");
    private static readonly Lazy<DkimKeyPair> S1 = new(() => DkimKeyGenerator.CreateRsa("example.com", "s1"));
    private static readonly Lazy<DkimKeyPair> S2 = new(() => DkimKeyGenerator.CreateRsa("example.com", "s2"));

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 7, 0, 0, TimeSpan.Zero));
    private readonly FakeSecretClient _vault = new(Vault);
    private readonly Dictionary<string, string> _records = new(StringComparer.Ordinal);
    private readonly List<IHost> _hosts = [];

    public void Dispose()
    {
        foreach (var host in _hosts)
        {
            host.Dispose();
        }
    }

    private KeyVaultSecret Publish(string secretName, DkimKeyPair pair, string? selectorTag = null)
    {
        _records[pair.RecordName] = pair.RecordValue;
        return _vault.Set(secretName, pair.PrivateKeyPem, selectorTag is null ? null : new Dictionary<string, string> { [KeyVaultDkimKeySource.SelectorTag] = selectorTag });
    }

    private static Dictionary<string, string?> KeySettings(int index, string domain, string? selector, string secretName, string? version = null) => new()
    {
        [$"MailGateway:Dkim:Keys:{index}:Domain"] = domain,
        [$"MailGateway:Dkim:Keys:{index}:Selector"] = selector,
        [$"MailGateway:Dkim:Keys:{index}:KeyVaultUri"] = Vault.ToString(),
        [$"MailGateway:Dkim:Keys:{index}:SecretName"] = secretName,
        [$"MailGateway:Dkim:Keys:{index}:SecretVersion"] = version,
    };

    /// <summary>A host with the Azure DKIM registration, its vault client replaced by the fake (nothing else is faked).</summary>
    private IHost Host(Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddKeyVaultDkimKeys();
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.Services.Replace(ServiceDescriptor.Singleton<IAzureClientFactory<SecretClient>>(
            new FakeAzureClientFactory<SecretClient>(new Dictionary<string, SecretClient> { [KeyVaultDkimKeySource.ClientName(Vault)] = _vault })));
        var host = builder.Build();
        _hosts.Add(host);
        return host;
    }

    private async Task<IHost> StartedHost(Dictionary<string, string?> settings)
    {
        var host = Host(settings);
        await host.StartAsync();
        return host;
    }

    private ComposedMessage Compose(string from = "app@example.com") =>
        new MessageComposer(Options.Create(new MessageLimitsOptions()), _time).Compose(new OutboundMessage
        {
            From = new EmailAddress(from, "App"),
            To = [new EmailAddress("to@example.org")],
            Subject = "Signed with a key from Key Vault",
            Text = "Hello.\n.A line that starts with a dot\n",
            Html = "<p>Grüße aus Köln</p>",
        }, "0190bbbb");

    private async Task AssertVerifiesAsync(byte[] signed, string selector)
    {
        Assert.Equal(selector, DkimCheck.SignatureTags(signed)["s"]);
        Assert.Equal([true], await DkimCheck.MimeKitAsync(signed, _records));
        var (valid, output) = await DkimCheck.PythonDkimAsync(signed, _records);
        Assert.True(valid, output);
    }

    private static string Problems(IHost host)
    {
        var error = new StringWriter();
        return StartupValidation.TryValidate(host.Services, error) ? "" : error.ToString();
    }

    [Fact]
    public async Task A_key_read_from_Key_Vault_signs_messages_that_verify_with_MimeKit_and_dkimpy()
    {
        Publish("dkim-example-com", S1.Value);
        var ed25519 = DkimKeyGenerator.CreateEd25519("example.com", "ed1");
        Publish("dkim-example-com-ed", ed25519, selectorTag: "ed1");
        using var host = await StartedHost(new(KeySettings(0, "example.com", "s1", "dkim-example-com").Concat(KeySettings(1, "example.com", null, "dkim-example-com-ed"))));

        var signer = host.Services.GetRequiredService<DkimMessageSigner>();
        var signed = signer.Sign(Compose()).Bytes;

        Assert.IsType<KeyVaultDkimKeySource>(host.Services.GetRequiredService<IDkimKeySource>());
        Assert.Equal(["s1", "ed1"], signer.Keys.Keys.Select(k => k.Selector));
        Assert.All(signer.Keys.Keys, k => Assert.Equal(32, k.Version!.Length));
        Assert.Equal(["rsa-sha256", "ed25519-sha256"], new[] { 0, 1 }.Select(i => DkimCheck.SignatureTags(signed, i)["a"]));
        Assert.Equal([true, true], await DkimCheck.MimeKitAsync(signed, _records));
        var (valid, output) = await DkimCheck.PythonDkimAsync(signed, _records);
        Assert.True(valid, output);
        Assert.Contains("signatures: 2", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_secret_version_with_a_new_selector_signs_after_the_next_refresh_without_a_restart()
    {
        Publish("dkim-example-com", S1.Value, selectorTag: "s1");
        using var host = await StartedHost(new(KeySettings(0, "example.com", null, "dkim-example-com")) { ["MailGateway:Dkim:RefreshInterval"] = "00:10:00" });
        var signer = host.Services.GetRequiredService<DkimMessageSigner>();
        await AssertVerifiesAsync(signer.Sign(Compose()).Bytes, "s1");
        var before = signer.Keys;

        // The operator's rotation: publish s2's record, then `az keyvault secret set … --tags selector=s2`.
        var rotated = Publish("dkim-example-com", S2.Value, selectorTag: "s2");
        await Poll.UntilAsync(() => !ReferenceEquals(signer.Keys, before), () => $"still {signer.Keys.Keys[0].Selector} after {_vault.Reads} reads",
            eachPoll: () => _time.Advance(TimeSpan.FromMinutes(10)));

        var key = Assert.Single(signer.Keys.Keys);
        Assert.Equal(("s2", rotated.Properties.Version), (key.Selector, key.Version));
        await AssertVerifiesAsync(signer.Sign(Compose()).Bytes, "s2");
        Assert.Equal(HealthStatus.Healthy, (await Health(host)).Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_new_version_under_a_fixed_selector_is_taken_and_a_pinned_version_stays()
    {
        var first = Publish("dkim-pinned", S1.Value);
        Publish("dkim-latest", DkimKeyGenerator.CreateRsa("example.org", "o1"));
        using var host = await StartedHost(new(KeySettings(0, "example.com", "s1", "dkim-pinned", first.Properties.Version).Concat(KeySettings(1, "example.org", "o1", "dkim-latest"))));
        var source = host.Services.GetRequiredService<KeyVaultDkimKeySource>();

        _vault.Set("dkim-pinned", S2.Value.PrivateKeyPem);
        var newer = DkimKeyGenerator.CreateRsa("example.org", "o1");
        _records[newer.RecordName] = newer.RecordValue;
        var latest = _vault.Set("dkim-latest", newer.PrivateKeyPem);
        Assert.True(await source.RefreshAsync(CancellationToken.None));

        Assert.Equal([first.Properties.Version, latest.Properties.Version], source.Current.Keys.Select(k => k.Version));
        var signer = host.Services.GetRequiredService<DkimMessageSigner>();
        await AssertVerifiesAsync(signer.Sign(Compose("app@example.com")).Bytes, "s1");
        await AssertVerifiesAsync(signer.Sign(Compose("app@example.org")).Bytes, "o1");
    }

    public static TheoryData<string, string> StartFailures => new()
    {
        { "forbidden", "MailGateway:Dkim:Keys:0:SecretName 'dkim-example-com' in https://kv-dkim-test.vault.azure.net/ cannot be read: 403 ForbiddenByRbac (the app's identity needs Key Vault Secrets User on the vault)" },
        { "missing", "MailGateway:Dkim:Keys:0:SecretName 'dkim-example-com' in https://kv-dkim-test.vault.azure.net/ cannot be read: 404 SecretNotFound (no such secret or version)" },
        { "no identity", "MailGateway:Dkim:Keys:0:SecretName 'dkim-example-com' in https://kv-dkim-test.vault.azure.net/ cannot be read: no token for the managed identity (ManagedIdentityCredential authentication unavailable.); is AZURE_CLIENT_ID the app's identity?" },
        { "not a key", "MailGateway:Dkim:Keys:0:SecretName 'dkim-example-com' in https://kv-dkim-test.vault.azure.net/ (version " },
        { "public key", "holds no RSA or Ed25519 private key." },
        { "small key", "is an RSA key of 512 bits; at least 1024 are required (2048 recommended)." },
        { "no selector", "MailGateway:Dkim:Keys:0:Selector is empty and the secret has no 'selector' tag: set one of them." },
    };

    [Theory]
    [MemberData(nameof(StartFailures))]
    public async Task A_key_that_cannot_be_read_at_start_stops_the_host_with_one_line_naming_it(string failure, string expected)
    {
        using var rsa = System.Security.Cryptography.RSA.Create(failure == "small key" ? 512 : 2048);
        switch (failure)
        {
            case "forbidden":
                _vault.Fail(FakeSecretClient.Refusal(403, "ForbiddenByRbac"));
                break;
            case "no identity":
                _vault.Fail(new CredentialUnavailableException("ManagedIdentityCredential authentication unavailable.\nNo identity endpoint."));
                break;
            case "not a key":
                _vault.Set("dkim-example-com", "relay-password-by-mistake");
                break;
            case "public key":
                _vault.Set("dkim-example-com", rsa.ExportSubjectPublicKeyInfoPem());
                break;
            case "small key":
                _vault.Set("dkim-example-com", rsa.ExportPkcs8PrivateKeyPem());
                break;
            case "no selector":
                Publish("dkim-example-com", S1.Value);
                break;
        }

        using var host = Host(KeySettings(0, "example.com", null, "dkim-example-com"));

        // The settings are valid; the read fails while the host starts, before anything listens.
        Assert.Equal("", Problems(host));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        var output = new StringWriter();
        Assert.True(StartupValidation.TryDescribe(error, output));
        var line = Assert.Single(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("Invalid configuration in MailGateway:Dkim: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("BEGIN", line, StringComparison.Ordinal);
        Assert.DoesNotContain("relay-password-by-mistake", line, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<DkimMessageSigner>().Sign(Compose()));
    }

    [Fact]
    public async Task A_key_that_fails_later_keeps_the_last_good_version_and_turns_the_health_check_degraded()
    {
        var good = Publish("dkim-example-com", S1.Value);
        using var host = await StartedHost(KeySettings(0, "example.com", "s1", "dkim-example-com"));
        var source = host.Services.GetRequiredService<KeyVaultDkimKeySource>();
        var signer = host.Services.GetRequiredService<DkimMessageSigner>();

        // The vault refuses: the last good version signs, the health check names the setting.
        _vault.Fail(FakeSecretClient.Refusal(403, "ForbiddenByRbac"));
        Assert.False(await source.RefreshAsync(CancellationToken.None));
        Assert.Equal(good.Properties.Version, Assert.Single(source.Current.Keys).Version);
        await AssertVerifiesAsync(signer.Sign(Compose()).Bytes, "s1");
        var health = await Health(host);
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("MailGateway:Dkim:Keys:0:SecretName 'dkim-example-com'", health.Entries[DkimKeysHealthCheck.Name].Description, StringComparison.Ordinal);

        // A new version that is garbage: never signed with, the last good one stays.
        _vault.Fail(null);
        _vault.Set("dkim-example-com", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
        Assert.False(await source.RefreshAsync(CancellationToken.None));
        Assert.Equal(good.Properties.Version, Assert.Single(source.Current.Keys).Version);
        await AssertVerifiesAsync(signer.Sign(Compose()).Bytes, "s1");
        Assert.Equal(HealthStatus.Degraded, (await Health(host)).Status);

        // Fixed: the next good version signs and the check is healthy again.
        var next = Publish("dkim-example-com", S1.Value);
        Assert.True(await source.RefreshAsync(CancellationToken.None));
        Assert.Equal(next.Properties.Version, Assert.Single(source.Current.Keys).Version);
        Assert.Equal(HealthStatus.Healthy, (await Health(host)).Status);
    }

    [Fact]
    public async Task A_rotation_that_clashes_with_another_key_keeps_the_whole_last_ring()
    {
        Publish("dkim-a", S1.Value, selectorTag: "s1");
        Publish("dkim-b", S2.Value, selectorTag: "s2");
        var settings = new Dictionary<string, string?>(KeySettings(0, "example.com", null, "dkim-a").Concat(KeySettings(1, "example.com", null, "dkim-b")))
        {
            ["MailGateway:Dkim:Keys:1:Active"] = "false",
        };
        using var host = await StartedHost(settings);
        var source = host.Services.GetRequiredService<KeyVaultDkimKeySource>();
        var before = source.Current;

        // A new version of dkim-a tagged with the selector dkim-b already has.
        _vault.Set("dkim-a", S2.Value.PrivateKeyPem, new Dictionary<string, string> { ["selector"] = "s2" });
        Assert.False(await source.RefreshAsync(CancellationToken.None));

        Assert.Same(before, source.Current);
        Assert.Contains(source.Failures, f => f.Contains("selector 's2' of 'example.com' is configured twice", StringComparison.Ordinal));
    }

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "KeyVaultUri", "http://kv.vault.azure.net/", "MailGateway:Dkim:Keys:0:KeyVaultUri 'http://kv.vault.azure.net/' is not a vault URI (https://<vault>.vault.azure.net/)." },
        { "KeyVaultUri", "https://kv.vault.azure.net/secrets/x", "is not a vault URI" },
        { "SecretName", "", "MailGateway:Dkim:Keys:0:SecretName is required with MailGateway:Dkim:Keys:0:KeyVaultUri." },
        { "SecretName", "dkim_key", "MailGateway:Dkim:Keys:0:SecretName 'dkim_key' is not a Key Vault secret name (1-127 letters, digits and '-')." },
        { "SecretVersion", "latest", "MailGateway:Dkim:Keys:0:SecretVersion 'latest' is not a secret version (32 hex digits; empty: the latest)." },
        { "PrivateKeyPath", "/keys/s1.pem", "MailGateway:Dkim:Keys:0: set PrivateKeyPath or KeyVaultUri, not both." },
        { "Selector", "bad selector", "MailGateway:Dkim:Keys:0:Selector 'bad selector' is not a DNS label" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Key_Vault_settings_are_checked_at_start_without_reading_the_vault(string setting, string value, string expected)
    {
        var settings = KeySettings(0, "example.com", "s1", "dkim-example-com");
        settings[$"MailGateway:Dkim:Keys:0:{setting}"] = value;
        using var host = Host(settings);

        var problems = Problems(host);

        Assert.StartsWith("Invalid configuration in MailGateway:Dkim: ", problems, StringComparison.Ordinal);
        Assert.Contains(expected, problems, StringComparison.Ordinal);
        Assert.Equal(0, _vault.Reads);
    }

    [Fact]
    public void The_refresh_interval_is_bounded()
    {
        using var host = Host(new(KeySettings(0, "example.com", "s1", "dkim-example-com")) { ["MailGateway:Dkim:RefreshInterval"] = "00:00:05" });

        Assert.Contains("MailGateway:Dkim:RefreshInterval must be between 00:01:00 and 1.00:00:00.", Problems(host), StringComparison.Ordinal);
    }

    [Fact]
    public void The_registration_builds_one_secret_client_per_vault_with_the_gateway_credential()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(KeySettings(0, "example.com", "s1", "a"))
        {
            ["MailGateway:Dkim:Keys:1:Domain"] = "example.org",
            ["MailGateway:Dkim:Keys:1:Selector"] = "o1",
            ["MailGateway:Dkim:Keys:1:KeyVaultUri"] = "https://KV-DKIM-TEST.vault.azure.net",
            ["MailGateway:Dkim:Keys:1:SecretName"] = "b",
            ["MailGateway:Dkim:Keys:2:Domain"] = "example.net",
            ["MailGateway:Dkim:Keys:2:Selector"] = "n1",
            ["MailGateway:Dkim:Keys:2:KeyVaultUri"] = "https://kv-other.vault.azure.net/",
            ["MailGateway:Dkim:Keys:2:SecretName"] = "c",
        });
        builder.AddKeyVaultDkimKeys();
        builder.AddKeyVaultDkimKeys();
        using var host = builder.Build();

        var factory = host.Services.GetRequiredService<IAzureClientFactory<SecretClient>>();
        Assert.Equal(Vault, factory.CreateClient(KeyVaultDkimKeySource.ClientName(new Uri("https://kv-dkim-test.vault.azure.net/"))).VaultUri);
        Assert.Equal(new Uri("https://kv-other.vault.azure.net/"), factory.CreateClient(KeyVaultDkimKeySource.ClientName(new Uri("https://kv-other.vault.azure.net/"))).VaultUri);
        Assert.Equal(KeyVaultDkimKeySource.ClientName(Vault), KeyVaultDkimKeySource.ClientName(new Uri("https://KV-DKIM-TEST.vault.azure.net")));
        Assert.IsType<DefaultAzureCredential>(host.Services.GetRequiredService<Azure.Core.TokenCredential>());
        Assert.Same(host.Services.GetRequiredService<KeyVaultDkimKeySource>(), host.Services.GetRequiredService<IDkimKeySource>());
        Assert.Single(host.Services.GetServices<IHostedService>().OfType<KeyVaultDkimKeySource>());
        Assert.Equal("", Problems(host));
    }

    [Fact]
    public async Task PEM_file_keys_still_work_beside_Key_Vault_keys()
    {
        var directory = Directory.CreateTempSubdirectory("mgw-kv-dkim-").FullName;
        try
        {
            var pair = DkimKeyGenerator.CreateRsa("example.org", "f1");
            var path = Path.Combine(directory, "example.org.f1.pem");
            await File.WriteAllTextAsync(path, pair.PrivateKeyPem);
            _records[pair.RecordName] = pair.RecordValue;
            Publish("dkim-example-com", S1.Value);
            using var host = await StartedHost(new(KeySettings(0, "example.com", "s1", "dkim-example-com"))
            {
                ["MailGateway:Dkim:Keys:1:Domain"] = "example.org",
                ["MailGateway:Dkim:Keys:1:Selector"] = "f1",
                ["MailGateway:Dkim:Keys:1:PrivateKeyPath"] = path,
            });

            var signer = host.Services.GetRequiredService<DkimMessageSigner>();
            await AssertVerifiesAsync(signer.Sign(Compose("a@example.com")).Bytes, "s1");
            await AssertVerifiesAsync(signer.Sign(Compose("a@example.org")).Bytes, "f1");
            Assert.Equal([false, true], signer.Keys.Keys.Select(k => k.Version is null));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Task<HealthReport> Health(IHost host) =>
        host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == DkimKeysHealthCheck.Name);
}
