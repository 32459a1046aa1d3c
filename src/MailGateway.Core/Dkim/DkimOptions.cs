using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Dkim;

/// <summary>One DKIM key (configuration <c>MailGateway:Dkim:Keys:N</c>).</summary>
public sealed class DkimKeyOptions
{
    /// <summary>The signing domain (<c>d=</c>): messages whose header From is this domain or a subdomain of it are signed.</summary>
    public string Domain { get; set; } = "";

    /// <summary>The selector (<c>s=</c>): the public key is published at <c>{Selector}._domainkey.{Domain}</c>.</summary>
    public string Selector { get; set; } = "";

    /// <summary>
    /// A PEM file with the private key: RSA (<c>BEGIN PRIVATE KEY</c> or <c>BEGIN RSA PRIVATE KEY</c>, at least 1024
    /// bits; 2048 recommended) or Ed25519 (<c>BEGIN PRIVATE KEY</c>). The algorithm follows from the key.
    /// </summary>
    public string PrivateKeyPath { get; set; } = "";

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
}

/// <summary>
/// Checks <see cref="DkimOptions"/> at start by loading every key: the file is readable, holds a private key, RSA keys
/// have at least <see cref="DkimKeyRing.MinimumRsaBits"/> bits, and no domain has two active keys of one algorithm.
/// </summary>
internal sealed class DkimOptionsValidator : IValidateOptions<DkimOptions>
{
    public ValidateOptionsResult Validate(string? name, DkimOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = DkimKeyRing.TryLoad(options, out _);
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

        if (string.IsNullOrWhiteSpace(key.Selector))
        {
            yield return new ValidationResult($"{name}:Selector is required.");
        }
        else if (!IsSelector(key.Selector))
        {
            yield return new ValidationResult($"{name}:Selector '{key.Selector}' is not a DNS label (letters, digits, '-', '_', dots between labels).");
        }

        if (string.IsNullOrWhiteSpace(key.PrivateKeyPath))
        {
            yield return new ValidationResult($"{name}:PrivateKeyPath is required (a PEM file with the private key).");
        }
    }
}
