using System.ComponentModel.DataAnnotations;
using MailGateway.Core.Keys;
using MailGateway.Testing;

namespace MailGateway.Core.Tests.Keys;

/// <summary>API keys: verification by hash, sender domains, scopes.</summary>
public sealed class ApiKeyVerifierTests
{
    private static ApiKeyVerifier Verifier(params ApiKeyOptions[] keys) =>
        new(new StaticOptionsMonitor<ApiKeysOptions>(new ApiKeysOptions { Keys = [.. keys] }));

    private static ApiKeyOptions Key(string id, string secret, params string[] scopes) => new()
    {
        Id = id,
        Sha256 = ApiKeyVerifier.HashKey(secret),
        AllowedSenderDomains = ["example.com", "*.example.org"],
        Scopes = [.. scopes],
    };

    [Fact]
    public void A_known_key_is_verified_with_its_domains_and_an_unknown_or_empty_one_is_not()
    {
        var verifier = Verifier(Key("billing", "s3cret"), Key("ops", "other"));

        var key = verifier.Verify("s3cret");
        Assert.Equal("billing", key?.Id);
        Assert.True(key!.MaySendFrom("app@example.com"));
        Assert.True(key.MaySendFrom("app@mail.example.org"));
        Assert.False(key.MaySendFrom("app@example.net"));
        Assert.Null(verifier.Verify("s3cret "));
        Assert.Null(verifier.Verify(""));
        Assert.Null(verifier.Verify(null));
    }

    [Fact]
    public void A_key_without_scopes_may_send_and_read_its_own_messages_only()
    {
        var key = Verifier(Key("billing", "s3cret")).Verify("s3cret")!;

        Assert.True(key.Has(ApiKeyScopes.Send));
        Assert.True(key.Has(ApiKeyScopes.Read));
        Assert.False(key.Has(ApiKeyScopes.Admin));
        Assert.True(key.MayAccess("billing"));
        Assert.False(key.MayAccess("ops"));
    }

    [Fact]
    public void An_admin_key_reads_and_acts_on_every_keys_messages_but_sends_only_with_the_send_scope()
    {
        var verifier = Verifier(Key("ops", "admin-key", ApiKeyScopes.Admin), Key("reader", "read-key", ApiKeyScopes.Read));
        var admin = verifier.Verify("admin-key")!;
        var reader = verifier.Verify("read-key")!;

        Assert.True(admin.Has(ApiKeyScopes.Read));
        Assert.True(admin.MayAccess("billing"));
        Assert.False(admin.Has(ApiKeyScopes.Send));
        Assert.True(reader.Has(ApiKeyScopes.Read));
        Assert.False(reader.Has(ApiKeyScopes.Send));
    }

    [Fact]
    public void An_unknown_scope_is_a_configuration_error_naming_the_key()
    {
        var options = new ApiKeysOptions { Keys = [Key("billing", "s3cret", "send", "superuser")] };

        var results = options.Validate(new ValidationContext(options)).ToList();

        Assert.Contains(results, r => r.ErrorMessage!.Contains("MailGateway:Api:Keys:0:Scopes", StringComparison.Ordinal)
            && r.ErrorMessage.Contains("superuser", StringComparison.Ordinal));
    }
}
