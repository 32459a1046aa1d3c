using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace MailGateway.Core.Dkim;

/// <summary>A new DKIM key pair: the private key as PKCS#8 PEM and the public key's DNS TXT record.</summary>
/// <param name="PrivateKeyPem">The private key (<c>BEGIN PRIVATE KEY</c>), for <see cref="DkimKeyOptions.PrivateKeyPath"/>.</param>
/// <param name="RecordName">Where to publish the record: <c>{selector}._domainkey.{domain}</c>.</param>
/// <param name="RecordValue">The TXT value: <c>v=DKIM1; k=rsa; p=…</c> (or <c>k=ed25519</c>).</param>
public sealed record DkimKeyPair(string PrivateKeyPem, string RecordName, string RecordValue)
{
    /// <summary>The record as a zone-file line, the value split into strings of at most 255 octets (RFC 1035 §3.3.14).</summary>
    public string ZoneFileLine
    {
        get
        {
            var chunks = Enumerable.Range(0, (RecordValue.Length + 254) / 255)
                .Select(i => RecordValue.Substring(i * 255, Math.Min(255, RecordValue.Length - (i * 255))))
                .Select(chunk => $"\"{chunk}\"");
            return $"{RecordName}. IN TXT ( {string.Join(' ', chunks)} )";
        }
    }
}

/// <summary>Creates DKIM key pairs (RSA with .NET's RSA, Ed25519 with BouncyCastle, which MimeKit signs with).</summary>
public static class DkimKeyGenerator
{
    /// <summary>The RSA sizes offered: 2048 is what receivers expect; longer keys may not fit some DNS hosting.</summary>
    public static readonly IReadOnlyList<int> RsaSizes = [1024, 2048, 3072, 4096];

    /// <summary>A new RSA key of <paramref name="bits"/> bits.</summary>
    public static DkimKeyPair CreateRsa(string domain, string selector, int bits = 2048)
    {
        if (!RsaSizes.Contains(bits))
        {
            throw new ArgumentOutOfRangeException(nameof(bits), bits, $"RSA keys of {string.Join(", ", RsaSizes)} bits.");
        }

        using var rsa = RSA.Create(bits);
        var publicKey = Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
        return new DkimKeyPair(rsa.ExportPkcs8PrivateKeyPem() + "\n", RecordName(domain, selector), $"v=DKIM1; k=rsa; p={publicKey}");
    }

    /// <summary>A new Ed25519 key (RFC 8463: the record holds the raw 32-octet public key).</summary>
    public static DkimKeyPair CreateEd25519(string domain, string selector)
    {
        var key = new Ed25519PrivateKeyParameters(new SecureRandom());
        var pkcs8 = PrivateKeyInfoFactory.CreatePrivateKeyInfo(key).GetEncoded();
        var pem = new StringBuilder("-----BEGIN PRIVATE KEY-----\n")
            .Append(Convert.ToBase64String(pkcs8, Base64FormattingOptions.InsertLineBreaks).Replace("\r\n", "\n", StringComparison.Ordinal))
            .Append("\n-----END PRIVATE KEY-----\n")
            .ToString();
        var publicKey = Convert.ToBase64String(key.GeneratePublicKey().GetEncoded());
        return new DkimKeyPair(pem, RecordName(domain, selector), $"v=DKIM1; k=ed25519; p={publicKey}");
    }

    /// <summary><c>{selector}._domainkey.{domain}</c>, the domain in ASCII.</summary>
    public static string RecordName(string domain, string selector)
    {
        var ascii = DkimKeyRing.AsciiDomain(domain) ?? throw new ArgumentException($"'{domain}' is not a domain name.", nameof(domain));
        return DkimKeySettings.IsSelector(selector)
            ? $"{selector.ToLowerInvariant()}._domainkey.{ascii}"
            : throw new ArgumentException($"'{selector}' is not a selector (a DNS label).", nameof(selector));
    }
}
