using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MailGateway.Core.Webhooks;

/// <summary>Standard Webhooks signing: <c>v1,</c> and the base64 HMAC-SHA256 of <c>id.timestamp.body</c> with the secret's bytes.</summary>
public static class WebhookSignature
{
    /// <summary>The prefix of a secret.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>A new secret: <c>whsec_</c> and the base64 of 32 random bytes.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The key bytes of <c>whsec_&lt;base64&gt;</c> (24 to 64 bytes); false for anything else.</summary>
    public static bool TryParseSecret(string? secret, out byte[] key)
    {
        key = [];
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal) || secret.Length > 200)
        {
            return false;
        }

        var buffer = new byte[150];
        if (!Convert.TryFromBase64String(secret[SecretPrefix.Length..], buffer, out var written) || written is < 24 or > 64)
        {
            return false;
        }

        key = buffer[..written];
        return true;
    }

    /// <summary>The <c>webhook-signature</c> value for one key.</summary>
    public static string Sign(byte[] key, string id, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(id);
        var prefix = Encoding.UTF8.GetBytes(id + "." + timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
    }
}
