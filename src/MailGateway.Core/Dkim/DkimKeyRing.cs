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
/// <param name="Version">Where the key came from beyond its settings: the Key Vault secret version; null for a file.</param>
public sealed record DkimKey(string Domain, string Selector, DkimSignatureAlgorithm Algorithm, AsymmetricKeyParameter PrivateKey, int Bits, bool Active, byte[]? RsaPkcs8 = null, string? Version = null);

/// <summary>
/// Reads the Key Vault key <paramref name="settings"/> (entry <paramref name="index"/> of the options, named
/// <paramref name="settingName"/>) for <see cref="DkimKeyRing.TryLoad(DkimOptions, DkimKeyVaultReader, out DkimKeyRing?)"/>:
/// the key (parsed with <see cref="DkimKeyRing.ReadPrivateKey"/>; its <see cref="DkimKey.Selector"/> from the secret
/// when the settings name none), or null and a message naming the setting.
/// </summary>
public delegate DkimKey? DkimKeyVaultReader(int index, DkimKeyOptions settings, string settingName, out string? error);

/// <summary>
/// The configured keys, loaded once, and the choice of the signing keys for a header From domain: the keys of that
/// domain, else of its nearest configured parent domain (DMARC's relaxed alignment accepts a parent's signature).
/// </summary>
public sealed class DkimKeyRing
{
    /// <summary>RSA keys shorter than this are refused (RFC 8301 §3.2: verifiers must not accept them).</summary>
    public const int MinimumRsaBits = 1024;

    /// <summary>The longest PEM text read (an RSA 4096 key is about 3.3 KB), checked before parsing.</summary>
    public const int MaxPemChars = 16 * 1024;

    private readonly Dictionary<string, DkimKey[]> _signing;
    private readonly Dictionary<(string Domain, string Selector), RsaPool> _rsa;

    private DkimKeyRing(IReadOnlyList<DkimKey> keys)
    {
        Keys = keys;
        _signing = keys.Where(k => k.Active)
            .GroupBy(k => k.Domain, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(k => k.Algorithm != DkimSignatureAlgorithm.RsaSha256).ToArray(), StringComparer.Ordinal);

        // Per ring: a key re-read from Key Vault (a new version under the same selector) gets its own RSA instances.
        _rsa = keys.Where(k => k.RsaPkcs8 is not null).ToDictionary(k => (k.Domain, k.Selector), k => new RsaPool(k.RsaPkcs8!, k.Bits));
    }

    /// <summary>Every configured key, active or not.</summary>
    public IReadOnlyList<DkimKey> Keys { get; }

    /// <summary>True when at least one key signs.</summary>
    public bool Signs => _signing.Count > 0;

    /// <summary>Loads the keys of <paramref name="options"/> (PEM files only).</summary>
    /// <exception cref="InvalidOperationException">A key cannot be loaded (start-up validation reports this first, by setting).</exception>
    public static DkimKeyRing Load(DkimOptions options)
    {
        var errors = TryLoad(options, out var ring);
        return errors.Count == 0 ? ring! : throw new InvalidOperationException(string.Join("; ", errors));
    }

    /// <summary>
    /// Loads the keys, PEM files only (a Key Vault key is an error here); returns every problem, each naming its
    /// setting (empty when <paramref name="ring"/> is set).
    /// </summary>
    public static IReadOnlyList<string> TryLoad(DkimOptions options, out DkimKeyRing? ring) => Load(options, null, keyVaultUnread: false, out ring);

    /// <summary>
    /// Loads the keys: PEM files here, Key Vault keys through <paramref name="keyVault"/>; returns every problem, each
    /// naming its setting (empty when <paramref name="ring"/> is set).
    /// </summary>
    public static IReadOnlyList<string> TryLoad(DkimOptions options, DkimKeyVaultReader keyVault, out DkimKeyRing? ring)
    {
        ArgumentNullException.ThrowIfNull(keyVault);
        return Load(options, keyVault, keyVaultUnread: false, out ring);
    }

    /// <summary>
    /// The start-up check: every setting, every PEM file loaded; Key Vault keys checked for their settings only when
    /// <paramref name="keyVault"/> (the host reads them when it starts), refused otherwise.
    /// </summary>
    internal static IReadOnlyList<string> Check(DkimOptions options, bool keyVault) => Load(options, null, keyVaultUnread: keyVault, out _);

    private static IReadOnlyList<string> Load(DkimOptions options, DkimKeyVaultReader? keyVault, bool keyVaultUnread, out DkimKeyRing? ring)
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

            DkimKey? key;
            string? error;
            if (settings.KeyVaultUri is null)
            {
                key = ReadKey(settings.PrivateKeyPath, name, out error);
            }
            else if (keyVault is not null)
            {
                key = keyVault(i, settings, name, out error);
            }
            else if (keyVaultUnread)
            {
                continue;
            }
            else
            {
                key = null;
                error = $"{name}:KeyVaultUri is set, but this host reads DKIM keys from PEM files only (Key Vault keys are read by the Azure hosts); set {name}:PrivateKeyPath.";
            }

            if (key is null)
            {
                errors.Add(error!);
                continue;
            }

            var domain = AsciiDomain(settings.Domain)!;
            var selector = (string.IsNullOrWhiteSpace(settings.Selector) ? key.Selector : settings.Selector).Trim().ToLowerInvariant();
            if (!DkimKeySettings.IsSelector(selector))
            {
                errors.Add(selector.Length == 0
                    ? $"{name}:Selector is empty and the secret has no 'selector' tag: set one of them."
                    : $"{name}: the secret's 'selector' tag '{selector}' is not a DNS label (letters, digits, '-', '_', dots between labels).");
                continue;
            }

            if (!selectors.Add((domain, selector)))
            {
                errors.Add($"{name}: selector '{selector}' of '{domain}' is configured twice.");
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

    /// <summary>The RSA instances of an RSA key of this ring (null for Ed25519).</summary>
    internal RsaPool? RsaPoolOf(DkimKey key) => _rsa.GetValueOrDefault((key.Domain, key.Selector));

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
        string pem;
        try
        {
            if (new FileInfo(path).Length > MaxPemChars * 4L)
            {
                error = $"{name}:PrivateKeyPath '{path}' is larger than a PEM private key ({MaxPemChars} characters at most).";
                return null;
            }

            pem = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"{name}:PrivateKeyPath '{path}' cannot be read: {ex.Message}";
            return null;
        }

        return ReadPrivateKey(pem, $"{name}:PrivateKeyPath '{path}'", out error);
    }

    /// <summary>
    /// Parses an unencrypted PEM private key (RSA of at least <see cref="MinimumRsaBits"/> bits, or Ed25519) of at most
    /// <see cref="MaxPemChars"/> characters; the domain and selector of the result are empty. On failure null, and
    /// <paramref name="error"/> starts with <paramref name="source"/> (the setting and where it points).
    /// </summary>
    public static DkimKey? ReadPrivateKey(string pem, string source, out string? error)
    {
        ArgumentNullException.ThrowIfNull(pem);
        error = null;
        if (pem.Length > MaxPemChars)
        {
            error = $"{source} is larger than a PEM private key ({pem.Length} characters; {MaxPemChars} at most).";
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
            error = $"{source} is not a PEM private key ({ex.Message}); encrypted keys are not supported.";
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
                error = $"{source} is an RSA key of {rsa.Modulus.BitLength} bits; at least {MinimumRsaBits} are required (2048 recommended).";
                return null;
            case RsaKeyParameters rsa:
                return new DkimKey("", "", DkimSignatureAlgorithm.RsaSha256, rsa, rsa.Modulus.BitLength, true, Pkcs8(rsa));
            case Ed25519PrivateKeyParameters ed25519:
                return new DkimKey("", "", DkimSignatureAlgorithm.Ed25519Sha256, ed25519, 256, true);
            default:
                error = $"{source} holds no RSA or Ed25519 private key.";
                return null;
        }
    }
}
