using System.Collections.Concurrent;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;

namespace MailGateway.Core.Dkim;

/// <summary>
/// rsa-sha256 through .NET's <see cref="RSA"/> (OpenSSL), as the <see cref="ISigner"/> MimeKit's signer writes the
/// canonicalized headers into: BouncyCastle's managed RSA took several milliseconds per 2048-bit signature, OpenSSL's
/// a fraction of that. RSA instances are not shared between threads: each signature rents one from <see cref="RsaPool"/>.
/// </summary>
internal sealed class RsaSha256Signer(RsaPool pool) : ISigner
{
    private IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public string AlgorithmName => "SHA-256withRSA";

    public void Init(bool forSigning, ICipherParameters parameters)
    {
        // The key is the pool's; MimeKit's own Init argument (the BouncyCastle key) is the same key.
    }

    public void Update(byte input) => _hash.AppendData([input]);

    public void BlockUpdate(byte[] input, int inOff, int inLen) => _hash.AppendData(input, inOff, inLen);

    public void BlockUpdate(ReadOnlySpan<byte> input) => _hash.AppendData(input);

    public int GetMaxSignatureSize() => pool.KeyBytes;

    public byte[] GenerateSignature()
    {
        var digest = _hash.GetHashAndReset();
        var rsa = pool.Rent();
        try
        {
            return rsa.SignHash(digest, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        finally
        {
            pool.Return(rsa);
        }
    }

    public bool VerifySignature(byte[] signature)
    {
        var digest = _hash.GetHashAndReset();
        var rsa = pool.Rent();
        try
        {
            return rsa.VerifyHash(digest, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        finally
        {
            pool.Return(rsa);
        }
    }

    public void Reset()
    {
        _hash.Dispose();
        _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }
}

/// <summary>Imported copies of one RSA key, one per concurrent signature at most (kept for reuse).</summary>
internal sealed class RsaPool(byte[] pkcs8, int bits)
{
    private readonly ConcurrentBag<RSA> _idle = [];

    public int KeyBytes { get; } = (bits + 7) / 8;

    public RSA Rent()
    {
        if (_idle.TryTake(out var rsa))
        {
            return rsa;
        }

        rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(pkcs8, out _);
        return rsa;
    }

    public void Return(RSA rsa) => _idle.Add(rsa);
}
