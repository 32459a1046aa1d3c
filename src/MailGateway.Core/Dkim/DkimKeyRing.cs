using System.Globalization;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.OpenSsl;

namespace MailGateway.Core.Dkim;

/// <summary>A loaded DKIM private key with its domain (ASCII, lower case) and selector.</summary>
/// <param name="Domain">The signing domain, <c>d=</c>.</param>
/// <param name="Selector">The selector, <c>s=</c>.</param>
/// <param name="Algorithm">rsa-sha256 or ed25519-sha256, from the key's type.</param>
/// <param name="PrivateKey">The key.</param>
/// <param name="Bits">The RSA modulus length, or 256 for Ed25519.</param>
/// <param name="Active">True when the key signs.</param>
/// <param name="RsaPkcs8">An RSA key as PKCS#8, for signing with .NET's RSA (OpenSSL) instead of BouncyCastle's.</param>
public sealed record DkimKey(string Domain, string Selector, DkimSignatureAlgorithm Algorithm, AsymmetricKeyParameter PrivateKey, int Bits, bool Active, byte[]? RsaPkcs8 = null);

/// <summary>
/// The configured keys, loaded once, and the choice of the signing keys for a header From domain: the keys of that
/// domain, else of its nearest configured parent domain (DMARC's relaxed alignment accepts a parent's signature).
/// </summary>
public sealed class DkimKeyRing
{
    /// <summary>RSA keys shorter than this are refused (RFC 8301 §3.2: verifiers must not accept them).</summary>
    public const int MinimumRsaBits = 1024;

    private readonly Dictionary<string, DkimKey[]> _signing;

    private DkimKeyRing(IReadOnlyList<DkimKey> keys)
    {
        Keys = keys;
        _signing = keys.Where(k => k.Active)
            .GroupBy(k => k.Domain, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(k => k.Algorithm != DkimSignatureAlgorithm.RsaSha256).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>Every configured key, active or not.</summary>
    public IReadOnlyList<DkimKey> Keys { get; }

    /// <summary>True when at least one key signs.</summary>
    public bool Signs => _signing.Count > 0;

    /// <summary>Loads the keys of <paramref name="options"/>.</summary>
    /// <exception cref="InvalidOperationException">A key cannot be loaded (start-up validation reports this first, by setting).</exception>
    public static DkimKeyRing Load(DkimOptions options)
    {
        var errors = TryLoad(options, out var ring);
        return errors.Count == 0 ? ring! : throw new InvalidOperationException(string.Join("; ", errors));
    }

    /// <summary>Loads the keys; returns every problem, each naming its setting (empty when <paramref name="ring"/> is set).</summary>
    public static IReadOnlyList<string> TryLoad(DkimOptions options, out DkimKeyRing? ring)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var keys = new List<DkimKey>();
        var selectors = new HashSet<(string, string)>();
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var settings = options.Keys[i];
            var name = $"{DkimOptions.SectionName}:Keys:{i}";
            var problems = DkimKeySettings.Check(settings, name).Select(r => r.ErrorMessage!).ToList();
            if (problems.Count > 0)
            {
                errors.AddRange(problems);
                continue;
            }

            var domain = AsciiDomain(settings.Domain)!;
            var selector = settings.Selector.Trim().ToLowerInvariant();
            if (!selectors.Add((domain, selector)))
            {
                errors.Add($"{name}: selector '{selector}' of '{domain}' is configured twice.");
                continue;
            }

            if (ReadKey(settings.PrivateKeyPath, name, out var error) is not { } key)
            {
                errors.Add(error!);
                continue;
            }

            keys.Add(key with { Domain = domain, Selector = selector, Active = settings.Active });
        }

        foreach (var clash in keys.Where(k => k.Active).GroupBy(k => (k.Domain, k.Algorithm)).Where(g => g.Count() > 1))
        {
            errors.Add($"{DkimOptions.SectionName}:Keys: '{clash.Key.Domain}' has {clash.Count()} active {AlgorithmName(clash.Key.Algorithm)} keys "
                + $"(selectors {string.Join(", ", clash.Select(k => k.Selector))}); set Active: false on all but the one that signs.");
        }

        ring = errors.Count == 0 ? new DkimKeyRing(keys) : null;
        return errors;
    }

    /// <summary>
    /// The keys that sign mail from <paramref name="fromDomain"/>: the active keys of the domain itself, else of the
    /// nearest configured parent; empty when none is configured (the message leaves unsigned).
    /// </summary>
    public IReadOnlyList<DkimKey> For(string fromDomain)
    {
        if (_signing.Count == 0 || AsciiDomain(fromDomain) is not { } domain)
        {
            return [];
        }

        while (true)
        {
            if (_signing.TryGetValue(domain, out var keys))
            {
                return keys;
            }

            var dot = domain.IndexOf('.', StringComparison.Ordinal);
            if (dot < 0)
            {
                return [];
            }

            domain = domain[(dot + 1)..];
        }
    }

    /// <summary>The DKIM name of an algorithm (<c>a=</c>).</summary>
    public static string AlgorithmName(DkimSignatureAlgorithm algorithm) => algorithm switch
    {
        DkimSignatureAlgorithm.Ed25519Sha256 => "ed25519-sha256",
        DkimSignatureAlgorithm.RsaSha1 => "rsa-sha1",
        _ => "rsa-sha256",
    };

    /// <summary>The domain as lower-case ASCII (IDNA), without a trailing dot; null when it is not a domain name.</summary>
    public static string? AsciiDomain(string domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var trimmed = domain.Trim().TrimEnd('.');
        if (trimmed.Length == 0 || trimmed.Length > 253)
        {
            return null;
        }

        try
        {
            var ascii = new IdnMapping().GetAscii(trimmed).ToLowerInvariant();
            return ascii.Split('.').All(l => l.Length is > 0 and <= 63 && l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) ? ascii : null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static byte[] Pkcs8(AsymmetricKeyParameter key) =>
        Org.BouncyCastle.Pkcs.PrivateKeyInfoFactory.CreatePrivateKeyInfo(key).GetEncoded();

    private static DkimKey? ReadKey(string path, string name, out string? error)
    {
        error = null;
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"{name}:PrivateKeyPath '{path}' cannot be read: {ex.Message}";
            return null;
        }

        object? read;
        try
        {
            using var reader = new StringReader(pem);
            read = new PemReader(reader).ReadObject();
        }
        catch (Exception ex) when (ex is IOException or PemException or InvalidCastException or ArgumentException or InvalidOperationException or FormatException)
        {
            error = $"{name}:PrivateKeyPath '{path}' is not a PEM private key ({ex.Message}); encrypted keys are not supported.";
            return null;
        }

        var key = read switch
        {
            AsymmetricCipherKeyPair pair => pair.Private,
            AsymmetricKeyParameter { IsPrivate: true } parameter => parameter,
            _ => null,
        };
        switch (key)
        {
            case RsaKeyParameters rsa when rsa.Modulus.BitLength < MinimumRsaBits:
                error = $"{name}:PrivateKeyPath '{path}' is an RSA key of {rsa.Modulus.BitLength} bits; at least {MinimumRsaBits} are required (2048 recommended).";
                return null;
            case RsaKeyParameters rsa:
                return new DkimKey("", "", DkimSignatureAlgorithm.RsaSha256, rsa, rsa.Modulus.BitLength, true, Pkcs8(rsa));
            case Ed25519PrivateKeyParameters ed25519:
                return new DkimKey("", "", DkimSignatureAlgorithm.Ed25519Sha256, ed25519, 256, true);
            default:
                error = $"{name}:PrivateKeyPath '{path}' holds no RSA or Ed25519 private key.";
                return null;
        }
    }
}
