using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Dkim;

/// <summary>One DKIM key (configuration <c>MailGateway:Dkim:Keys:N</c>).</summary>
public sealed class DkimKeyOptions
{
    /// <summary>The signing domain (<c>d=</c>): messages whose header From is this domain or a subdomain of it are signed.</summary>
    public string Domain { get; set; } = "";

    /// <summary>
    /// The selector (<c>s=</c>): the public key is published at <c>{Selector}._domainkey.{Domain}</c>. With Key Vault it
    /// may be left empty: each secret version then names its selector in its tag <c>selector</c> (a new version with a
    /// new selector rotates the key without a restart).
    /// </summary>
    public string Selector { get; set; } = "";

    /// <summary>
    /// A PEM file with the private key: RSA (<c>BEGIN PRIVATE KEY</c> or <c>BEGIN RSA PRIVATE KEY</c>, at least 1024
    /// bits; 2048 recommended) or Ed25519 (<c>BEGIN PRIVATE KEY</c>). The algorithm follows from the key. Either this or
    /// <see cref="KeyVaultUri"/>.
    /// </summary>
    public string PrivateKeyPath { get; set; } = "";

    /// <summary>
    /// Instead of <see cref="PrivateKeyPath"/> (the Azure hosts only): the Key Vault holding the PEM as the secret
    /// <see cref="SecretName"/>, e.g. <c>https://kv-dkim-x.vault.azure.net/</c>, read with the host's managed identity
    /// (Key Vault Secrets User) at start and every <see cref="DkimOptions.RefreshInterval"/>.
    /// </summary>
    public Uri? KeyVaultUri { get; set; }

    /// <summary>The secret's name in <see cref="KeyVaultUri"/> (1–127 letters, digits and '-').</summary>
    public string SecretName { get; set; } = "";

    /// <summary>
    /// A fixed version of the secret (32 hex digits); empty (the default): the latest version, re-read at every refresh,
    /// so a new version signs without a restart.
    /// </summary>
    public string SecretVersion { get; set; } = "";

    /// <summary>
    /// True (the default): this key signs. False: the key is loaded and checked at start but does not sign (a
    /// selector being published, or being retired). At most one active key per domain and algorithm; an RSA and an
    /// Ed25519 key active for one domain both sign (two signatures, RFC 8463).
    /// </summary>
    public bool Active { get; set; } = true;
}

/// <summary>DKIM signing of outbound mail (configuration section <c>MailGateway:Dkim</c>). No keys: nothing is signed.</summary>
public sealed class DkimOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Dkim";

    /// <summary>The keys, per domain and selector.</summary>
    public List<DkimKeyOptions> Keys { get; set; } = [];

    /// <summary>
    /// How often the Azure hosts re-read the Key Vault keys (1 minute to 1 day; 15 minutes by default): a new secret
    /// version signs from then on; a failed read keeps the version read last. PEM files are read at start.
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>
/// Where this host reads DKIM private keys from: PEM files always; Key Vault only when the Azure adapters registered
/// their key source (<c>AddKeyVaultDkimKeys</c>). Start-up validation refuses a Key Vault key on a host that cannot read it.
/// </summary>
public sealed class DkimKeyLocations
{
    private DkimKeyLocations(bool keyVault) => KeyVault = keyVault;

    /// <summary>PEM files only (the standalone host).</summary>
    public static DkimKeyLocations FilesOnly { get; } = new(false);

    /// <summary>PEM files and Key Vault secrets (the Azure hosts that sign).</summary>
    public static DkimKeyLocations FilesAndKeyVault { get; } = new(true);

    /// <summary>True when Key Vault keys are read.</summary>
    public bool KeyVault { get; }
}

/// <summary>
/// Checks <see cref="DkimOptions"/> at start by loading every PEM file key: the file is readable, holds a private key,
/// RSA keys have at least <see cref="DkimKeyRing.MinimumRsaBits"/> bits, and no domain has two active keys of one
/// algorithm. Key Vault keys are checked for their settings here (no network: the Azure key source reads them when the
/// host starts, and a key it cannot read stops the host the same way); on a host without Key Vault they are refused.
/// </summary>
internal sealed class DkimOptionsValidator(DkimKeyLocations locations) : IValidateOptions<DkimOptions>
{
    public ValidateOptionsResult Validate(string? name, DkimOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = DkimKeyRing.Check(options, locations.KeyVault).ToList();
        if (options.RefreshInterval < TimeSpan.FromMinutes(1) || options.RefreshInterval > TimeSpan.FromDays(1))
        {
            errors.Add("MailGateway:Dkim:RefreshInterval must be between 00:01:00 and 1.00:00:00.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Data-annotation style check of one key's own settings, used by <see cref="DkimKeyRing"/>.</summary>
internal static class DkimKeySettings
{
    /// <summary>Selectors are DNS labels (dot-separated, RFC 6376 §3.1): letters, digits, hyphen, underscore.</summary>
    public static bool IsSelector(string selector) =>
        selector.Length is > 0 and <= 253
        && selector.Split('.').All(label => label.Length is > 0 and <= 63
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            && label[0] != '-' && label[^1] != '-');

    public static IEnumerable<ValidationResult> Check(DkimKeyOptions key, string name)
    {
        if (string.IsNullOrWhiteSpace(key.Domain))
        {
            yield return new ValidationResult($"{name}:Domain is required.");
        }
        else if (DkimKeyRing.AsciiDomain(key.Domain) is null)
        {
            yield return new ValidationResult($"{name}:Domain '{key.Domain}' is not a domain name.");
        }

        var keyVault = key.KeyVaultUri is not null;
        if (string.IsNullOrWhiteSpace(key.Selector))
        {
            if (!keyVault)
            {
                yield return new ValidationResult($"{name}:Selector is required.");
            }
        }
        else if (!IsSelector(key.Selector))
        {
            yield return new ValidationResult($"{name}:Selector '{key.Selector}' is not a DNS label (letters, digits, '-', '_', dots between labels).");
        }

        if (!keyVault)
        {
            if (string.IsNullOrWhiteSpace(key.PrivateKeyPath))
            {
                yield return new ValidationResult(string.IsNullOrWhiteSpace(key.SecretName)
                    ? $"{name}:PrivateKeyPath is required (a PEM file with the private key)."
                    : $"{name}:SecretName is set without {name}:KeyVaultUri (the vault that holds it).");
            }

            yield break;
        }

        if (!string.IsNullOrWhiteSpace(key.PrivateKeyPath))
        {
            yield return new ValidationResult($"{name}: set PrivateKeyPath or KeyVaultUri, not both.");
        }

        if (!key.KeyVaultUri!.IsAbsoluteUri || key.KeyVaultUri.Scheme != Uri.UriSchemeHttps || key.KeyVaultUri.AbsolutePath != "/"
            || !string.IsNullOrEmpty(key.KeyVaultUri.Query) || !string.IsNullOrEmpty(key.KeyVaultUri.UserInfo))
        {
            yield return new ValidationResult($"{name}:KeyVaultUri '{key.KeyVaultUri}' is not a vault URI (https://<vault>.vault.azure.net/).");
        }

        if (string.IsNullOrWhiteSpace(key.SecretName))
        {
            yield return new ValidationResult($"{name}:SecretName is required with {name}:KeyVaultUri.");
        }
        else if (!IsSecretName(key.SecretName))
        {
            yield return new ValidationResult($"{name}:SecretName '{key.SecretName}' is not a Key Vault secret name (1-127 letters, digits and '-').");
        }

        if (!string.IsNullOrEmpty(key.SecretVersion) && !(key.SecretVersion.Length == 32 && key.SecretVersion.All(char.IsAsciiHexDigit)))
        {
            yield return new ValidationResult($"{name}:SecretVersion '{key.SecretVersion}' is not a secret version (32 hex digits; empty: the latest).");
        }
    }

    /// <summary>Key Vault object names: 1–127 ASCII letters, digits and hyphens.</summary>
    public static bool IsSecretName(string name) =>
        name.Length is > 0 and <= 127 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
