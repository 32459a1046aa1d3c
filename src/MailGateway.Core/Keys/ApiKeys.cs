using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Keys;

/// <summary>One API key (configuration <c>MailGateway:Api:Keys:N</c>).</summary>
public sealed class ApiKeyOptions
{
    /// <summary>A name for the key; owns the messages sent with it (status is visible only to the same key).</summary>
    [Required(AllowEmptyStrings = false)]
    public string Id { get; set; } = "";

    /// <summary>The SHA-256 of the key, hex (64 digits). The key itself is never configured.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Sha256 { get; set; } = "";

    /// <summary>The domains this key may send from (<c>from</c> outside them → refused). <c>*.example.com</c> also allows subdomains.</summary>
    public List<string> AllowedSenderDomains { get; set; } = [];

    /// <summary>
    /// What the key may do: <c>send</c>, <c>read</c> (its own messages), <c>admin</c> (every key's messages, operator
    /// actions). Empty: <c>send</c> and <c>read</c>, what every key could do before scopes existed.
    /// </summary>
    public List<string> Scopes { get; set; } = [];
}

/// <summary>The scopes an API key can have (<see cref="ApiKeyOptions.Scopes"/>).</summary>
public static class ApiKeyScopes
{
    /// <summary>Submit messages (HTTP API, batch, SMTP submission).</summary>
    public const string Send = "send";

    /// <summary>Read the key's own messages, events and suppressions.</summary>
    public const string Read = "read";

    /// <summary>See and act on every key's messages: list, cancel, dead letters, the dashboard.</summary>
    public const string Admin = "admin";

    /// <summary>Every scope name, for validation.</summary>
    public static readonly IReadOnlyList<string> All = [Send, Read, Admin];

    /// <summary>The scopes of a key configured without any.</summary>
    public static readonly IReadOnlyList<string> Default = [Send, Read];
}

/// <summary>
/// The API keys (configuration <c>MailGateway:Api:Keys</c>), shared by every entry point that takes a key: the HTTP
/// API and SMTP submission verify a key the same way (<see cref="ApiKeyVerifier"/>).
/// </summary>
public sealed class ApiKeysOptions : IValidatableObject
{
    /// <summary>The configuration section (the keys are <c>MailGateway:Api:Keys</c>).</summary>
    public const string SectionName = "MailGateway:Api";

    /// <summary>The API keys.</summary>
    public List<ApiKeyOptions> Keys { get; set; } = [];

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Keys.Count; i++)
        {
            var key = Keys[i];
            var name = $"{SectionName}:Keys:{i}";
            if (string.IsNullOrWhiteSpace(key.Id))
            {
                yield return new ValidationResult($"{name}:Id is required.", [nameof(Keys)]);
            }
            else if (!ids.Add(key.Id))
            {
                yield return new ValidationResult($"{name}:Id '{key.Id}' is used by another key.", [nameof(Keys)]);
            }

            if (key.Sha256 is null || key.Sha256.Length != 64 || !key.Sha256.All(Uri.IsHexDigit))
            {
                yield return new ValidationResult($"{name}:Sha256 must be the SHA-256 of the key as 64 hex digits.", [nameof(Keys)]);
            }

            foreach (var scope in key.Scopes.Where(s => !ApiKeyScopes.All.Contains(s, StringComparer.Ordinal)))
            {
                yield return new ValidationResult($"{name}:Scopes: '{scope}' is not a scope (send, read, admin).", [nameof(Keys)]);
            }

            if (key.AllowedSenderDomains.Count == 0 || key.AllowedSenderDomains.Any(string.IsNullOrWhiteSpace))
            {
                yield return new ValidationResult($"{name}:AllowedSenderDomains must list at least one domain (the API is never an open relay).", [nameof(Keys)]);
            }
        }
    }
}

/// <summary>A key that matched a configured one: its id, the sender domains it may use and its scopes.</summary>
public sealed record VerifiedApiKey(string Id, IReadOnlyList<string> AllowedSenderDomains, IReadOnlyList<string>? Scopes = null)
{
    /// <summary>The key's scopes (<see cref="ApiKeyScopes.Default"/> when none were configured).</summary>
    public IReadOnlyList<string> EffectiveScopes => Scopes is { Count: > 0 } scopes ? scopes : ApiKeyScopes.Default;

    /// <summary>True when the key has <paramref name="scope"/>; <c>admin</c> also grants <c>read</c>.</summary>
    public bool Has(string scope) =>
        EffectiveScopes.Contains(scope, StringComparer.Ordinal)
        || (scope == ApiKeyScopes.Read && EffectiveScopes.Contains(ApiKeyScopes.Admin, StringComparer.Ordinal));

    /// <summary>True when the key may see (and, with the scope an action needs, act on) a message owned by <paramref name="owner"/>.</summary>
    public bool MayAccess(string owner) => string.Equals(owner, Id, StringComparison.Ordinal) || Has(ApiKeyScopes.Admin);

    /// <summary>True when <paramref name="address"/>'s domain is one of the allowed ones (or a subdomain of a <c>*.</c> entry).</summary>
    public bool MaySendFrom(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var at = address.LastIndexOf('@');
        if (at < 0)
        {
            return false;
        }

        var domain = address[(at + 1)..].TrimEnd('.');
        foreach (var allowed in AllowedSenderDomains)
        {
            if (allowed.StartsWith("*.", StringComparison.Ordinal))
            {
                var parent = allowed[2..];
                if (domain.Equals(parent, StringComparison.OrdinalIgnoreCase)
                    || domain.EndsWith("." + parent, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
            else if (domain.Equals(allowed, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// Verifies a presented API key: its SHA-256 is compared with every configured hash in constant time (no early exit,
/// no timing hint of a near match). How the key is presented (an HTTP header, an SMTP AUTH) is the entry point's.
/// </summary>
public sealed class ApiKeyVerifier(IOptionsMonitor<ApiKeysOptions> options)
{
    /// <summary>The key's id and allowed domains, or null for no key or an unknown one.</summary>
    public VerifiedApiKey? Verify(string? presentedKey)
    {
        if (string.IsNullOrEmpty(presentedKey))
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey), hash);
        Span<byte> expected = stackalloc byte[32];
        VerifiedApiKey? match = null;
        foreach (var key in options.CurrentValue.Keys)
        {
            if (!TryParseHex(key.Sha256, expected))
            {
                continue;
            }

            if (CryptographicOperations.FixedTimeEquals(hash, expected) && match is null)
            {
                match = new VerifiedApiKey(key.Id, key.AllowedSenderDomains, key.Scopes);
            }
        }

        return match;
    }

    /// <summary>The SHA-256 of a key as configured (64 lower-case hex digits).</summary>
    public static string HashKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    private static bool TryParseHex(string hex, Span<byte> destination) =>
        hex is { Length: 64 } && Convert.FromHexString(hex, destination, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32;
}
