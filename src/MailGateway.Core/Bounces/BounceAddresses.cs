using System.Buffers.Binary;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Bounces;

/// <summary>
/// Bounce processing (configuration section <c>MailGateway:Bounces</c>). Off while <see cref="Domain"/> is empty: the
/// envelope sender stays the message's <c>from</c>. On: every recipient is sent in its own SMTP transaction whose MAIL
/// FROM is <c>bounces+&lt;token&gt;@&lt;Domain&gt;</c>, the token naming the message and the recipient's index, signed.
/// </summary>
public sealed class BounceOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Bounces";

    /// <summary>The shortest <see cref="Secret"/> accepted.</summary>
    public const int MinSecretLength = 32;

    /// <summary>The bounce domain (its MX points to the inbound listener); empty for off (the default).</summary>
    public string? Domain { get; set; }

    /// <summary>The HMAC-SHA256 key of the tokens (at least 32 characters); a bounce whose token it did not sign is refused.</summary>
    public string? Secret { get; set; }

    /// <summary>The local part before the <c>+</c>: letters, digits, '.', '-', '_' (default <c>bounces</c>).</summary>
    public string LocalPart { get; set; } = "bounces";

    /// <summary>The largest DSN or complaint read for processing, in bytes (default 256 KiB); a bigger one is stored only.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxReportBytes { get; set; } = 256 * 1024;

    /// <summary>True when <see cref="Domain"/> is set.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Domain);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }

        if (!IsDomain(Domain!))
        {
            yield return new ValidationResult($"{SectionName}:Domain '{Domain}' is not a domain name.", [nameof(Domain)]);
        }

        if (Secret is null || Secret.Length < MinSecretLength)
        {
            yield return new ValidationResult($"{SectionName}:Secret must be set (at least {MinSecretLength} characters) when {SectionName}:Domain is.", [nameof(Secret)]);
        }

        if (LocalPart.Length is 0 or > 16 || !LocalPart.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
        {
            yield return new ValidationResult($"{SectionName}:LocalPart is 1-16 letters, digits, '.', '-' or '_'.", [nameof(LocalPart)]);
        }
    }

    private static bool IsDomain(string domain) =>
        domain.Length <= 253
        && domain.Split('.') is { Length: >= 2 } labels
        && labels.All(l => l.Length is > 0 and <= 63 && l[0] != '-' && l[^1] != '-' && l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
}

/// <summary>What <see cref="BounceAddresses.TryRead"/> found in an address.</summary>
public enum BounceAddressKind
{
    /// <summary>Not an address of the bounce domain (or bounce processing is off).</summary>
    Other,

    /// <summary>An address of the bounce domain whose token is malformed or not signed with the secret.</summary>
    Forged,

    /// <summary>A token this gateway signed: the message and the recipient index are known.</summary>
    Valid,
}

/// <summary>
/// The VERP addresses of bounce processing: <c>bounces+&lt;token&gt;@&lt;domain&gt;</c>, where the token is the message id
/// (16 bytes), the recipient's index (2 bytes) and the first 10 bytes of their HMAC-SHA256, in lower-case base32
/// (45 characters: the local part stays within RFC 5321's 64). No recipient address appears in it.
/// </summary>
public sealed class BounceAddresses(IOptions<BounceOptions> options)
{
    private const int IdBytes = 16;
    private const int IndexBytes = 2;
    private const int MacBytes = 10;
    private const int TokenBytes = IdBytes + IndexBytes + MacBytes;
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    private static readonly byte[] Context = "mailgateway-verp-v1"u8.ToArray();

    private readonly BounceOptions _options = options.Value;

    /// <summary>True when bounce processing is on.</summary>
    public bool Enabled => _options.Enabled;

    /// <summary>The bounce domain, or null when off.</summary>
    public string? Domain => _options.Enabled ? _options.Domain!.Trim() : null;

    /// <summary>
    /// The envelope sender for recipient <paramref name="index"/> of message <paramref name="messageId"/>; null when off,
    /// or when the id is not a gateway id (32 hex digits) or the index is out of range (the original sender is used).
    /// </summary>
    public string? For(string messageId, int index)
    {
        ArgumentNullException.ThrowIfNull(messageId);
        if (!_options.Enabled || index is < 0 or > ushort.MaxValue || !Guid.TryParseExact(messageId, "N", out var id))
        {
            return null;
        }

        Span<byte> token = stackalloc byte[TokenBytes];
        id.TryWriteBytes(token[..IdBytes], bigEndian: true, out _);
        BinaryPrimitives.WriteUInt16BigEndian(token.Slice(IdBytes, IndexBytes), (ushort)index);
        Mac(token[..(IdBytes + IndexBytes)], token[(IdBytes + IndexBytes)..]);
        return $"{_options.LocalPart}+{Base32(token)}@{Domain}";
    }

    /// <summary>True when <paramref name="address"/> is of the bounce domain (whatever its token).</summary>
    public bool IsBounceDomain(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var at = address.LastIndexOf('@');
        return _options.Enabled && at > 0 && string.Equals(address[(at + 1)..].TrimEnd('.'), Domain, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Reads the message id and recipient index from a bounce address, checking the signature in constant time.</summary>
    public BounceAddressKind TryRead(string address, out string messageId, out int index)
    {
        ArgumentNullException.ThrowIfNull(address);
        messageId = "";
        index = -1;
        if (!IsBounceDomain(address))
        {
            return BounceAddressKind.Other;
        }

        var local = address[..address.LastIndexOf('@')];
        var prefix = _options.LocalPart + "+";
        Span<byte> token = stackalloc byte[TokenBytes];
        if (!local.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || !TryBase32(local.AsSpan(prefix.Length), token))
        {
            return BounceAddressKind.Forged;
        }

        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(token[..(IdBytes + IndexBytes)], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, token[(IdBytes + IndexBytes)..]))
        {
            return BounceAddressKind.Forged;
        }

        messageId = new Guid(token[..IdBytes], bigEndian: true).ToString("N");
        index = BinaryPrimitives.ReadUInt16BigEndian(token.Slice(IdBytes, IndexBytes));
        return BounceAddressKind.Valid;
    }

    private void Mac(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var key = Encoding.UTF8.GetBytes(_options.Secret ?? "");
        Span<byte> input = stackalloc byte[Context.Length + data.Length];
        Context.CopyTo(input);
        data.CopyTo(input[Context.Length..]);
        Span<byte> full = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, input, full);
        full[..destination.Length].CopyTo(destination);
    }

    private static string Base32(ReadOnlySpan<byte> data)
    {
        var text = new StringBuilder((data.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                text.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            text.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }

        return text.ToString();
    }

    private static bool TryBase32(ReadOnlySpan<char> text, Span<byte> destination)
    {
        if (text.Length != (destination.Length * 8 + 4) / 5)
        {
            return false;
        }

        int buffer = 0, bits = 0, written = 0;
        foreach (var c in text)
        {
            var value = Alphabet.IndexOf(char.ToLowerInvariant(c), StringComparison.Ordinal);
            if (value < 0)
            {
                return false;
            }

            buffer = ((buffer << 5) | value) & 0xFFFF;
            bits += 5;
            if (bits >= 8)
            {
                destination[written++] = (byte)(buffer >> (bits - 8));
                bits -= 8;
            }
        }

        // The padding bits of the last character are zero in a token we made.
        return written == destination.Length && (buffer & ((1 << bits) - 1)) == 0;
    }
}
