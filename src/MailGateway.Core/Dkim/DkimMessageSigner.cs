using System.Text;
using MailGateway.Core.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Cryptography;

namespace MailGateway.Core.Dkim;

/// <summary>
/// Signs a message once, when it is accepted, with MimeKit's <see cref="DkimSigner"/>: relaxed/relaxed, the keys of the
/// header From's domain (<see cref="DkimKeyRing.For"/>), the headers receivers expect that the message has, From
/// signed once more than it occurs (so no From can be added). The signature headers are put in front of the composed
/// bytes, which are stored and sent unchanged: what was signed is what the relay receives. A From domain without a
/// key: the message is returned as it is, unsigned.
/// </summary>
public sealed partial class DkimMessageSigner
{
    /// <summary>The headers signed when present, in this order; From is then signed a second time (oversigned).</summary>
    public static readonly IReadOnlyList<string> SignedHeaders =
    [
        "From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Reply-To",
        "In-Reply-To", "References", "List-Unsubscribe", "List-Unsubscribe-Post",
    ];

    private readonly IDkimKeySource _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<DkimMessageSigner> _logger;

    /// <summary>Creates the signer over the PEM file keys of <paramref name="options"/> (validated at start).</summary>
    public DkimMessageSigner(IOptions<DkimOptions> options, TimeProvider time, ILogger<DkimMessageSigner> logger)
        : this(new PemFileDkimKeySource(options), time, logger)
    {
    }

    /// <summary>Creates the signer over the keys in force of <paramref name="keys"/> (read again for every message).</summary>
    public DkimMessageSigner(IDkimKeySource keys, TimeProvider time, ILogger<DkimMessageSigner> logger)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys;
        _time = time;
        _logger = logger;
    }

    /// <summary>The keys in force now.</summary>
    public DkimKeyRing Keys => _keys.Current;

    /// <summary>
    /// Signs <paramref name="composed"/> with the keys of its header From's domain; returns it unchanged when that
    /// domain has none. <see cref="ComposedMessage.Bytes"/> must be <see cref="ComposedMessage.Message"/> written with
    /// <see cref="MessageComposer.WireFormat"/> (what the composer returns).
    /// </summary>
    public ComposedMessage Sign(ComposedMessage composed)
    {
        ArgumentNullException.ThrowIfNull(composed);
        var signed = Sign(composed.Message, composed.Bytes);
        return ReferenceEquals(signed, composed.Bytes) ? composed : composed with { Bytes = signed };
    }

    /// <summary>
    /// Signs <paramref name="message"/>, whose wire form is <paramref name="wireBytes"/>, and returns the signature
    /// headers followed by <paramref name="wireBytes"/>; <paramref name="wireBytes"/> itself when no key applies.
    /// </summary>
    public byte[] Sign(MimeMessage message, byte[] wireBytes)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(wireBytes);
        // One ring for the whole message, however the source replaces it meanwhile.
        var ring = _keys.Current;
        if (!ring.Signs || message.From.Mailboxes.FirstOrDefault() is not { } from)
        {
            return wireBytes;
        }

        var keys = ring.For(from.Domain);
        if (keys.Count == 0)
        {
            LogUnsigned(from.Domain);
            return wireBytes;
        }

        var headers = HeadersToSign(message);
        var existing = message.Headers.Count;
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        var added = new List<Header>(keys.Count);
        try
        {
            foreach (var key in keys)
            {
                var signer = new Signer(key, timestamp, ring.RsaPoolOf(key))
                {
                    HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
                    BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
                };

                // MimeKit inserts the DKIM-Signature as the first header. A second key signs the first signature too
                // only if it is listed; it is not, so each signature covers the same headers and body.
                signer.Sign(MessageComposer.WireFormat, message, headers);
                added.Add(message.Headers[0]);
            }
        }
        finally
        {
            // The message tree goes back to what was composed; the signatures travel as bytes only.
            while (message.Headers.Count > existing)
            {
                message.Headers.RemoveAt(0);
            }
        }

        // In key order, RSA first: verifiers that check only the first signature (dkimverify) or know no Ed25519 see RSA.
        using var buffer = new MemoryStream(wireBytes.Length + (1024 * added.Count));
        foreach (var header in added)
        {
            WriteHeader(buffer, header);
        }

        buffer.Write(wireBytes);
        return buffer.ToArray();
    }

    /// <summary>The signed header list for <paramref name="message"/>: <see cref="SignedHeaders"/> present in it, then From again.</summary>
    internal static List<string> HeadersToSign(MimeMessage message)
    {
        var list = new List<string>(SignedHeaders.Count + 1);
        foreach (var name in SignedHeaders)
        {
            // MimeKit keeps Content-* of the top-level entity in the body's headers.
            var present = message.Headers.Contains(name)
                || (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) && message.Body?.Headers.Contains(name) == true);
            if (present)
            {
                list.Add(name);
            }
        }

        list.Add("From");
        return list;
    }

    // The header's raw form, every line break CRLF (the stored bytes are CRLF only).
    private static void WriteHeader(MemoryStream buffer, Header header)
    {
        buffer.Write(Encoding.ASCII.GetBytes(header.Field));
        buffer.WriteByte((byte)':');
        var raw = header.RawValue;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
            {
                buffer.WriteByte((byte)'\r');
            }

            if (raw[i] == '\r' && (i + 1 >= raw.Length || raw[i + 1] != '\n'))
            {
                continue;
            }

            buffer.WriteByte(raw[i]);
        }

        if (raw.Length == 0 || raw[^1] != '\n')
        {
            buffer.Write("\r\n"u8);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "No DKIM key for the From domain {Domain}: the message leaves unsigned")]
    private partial void LogUnsigned(string domain);

    /// <summary>MimeKit's signer with the gateway's clock for <c>t=</c>.</summary>
    private sealed class Signer(DkimKey key, long timestamp, RsaPool? rsa) : DkimSigner(key.PrivateKey, key.Domain, key.Selector, key.Algorithm)
    {
        protected override long GetTimestamp() => timestamp;

        // RSA through OpenSSL (RsaSha256Signer); Ed25519 stays with MimeKit's BouncyCastle signer.
        protected override Org.BouncyCastle.Crypto.ISigner CreateSigningContext() =>
            rsa is not null && key.Algorithm == DkimSignatureAlgorithm.RsaSha256 ? new RsaSha256Signer(rsa) : base.CreateSigningContext();
    }
}
