using System.Diagnostics;
using MimeKit;
using MimeKit.Cryptography;

namespace MailGateway.Testing;

/// <summary>
/// Verifies the DKIM signatures of a message with the public keys given here instead of DNS: MimeKit's
/// <see cref="DkimVerifier"/>, and Debian's python3-dkim (dkimpy, the library behind <c>dkimverify</c>) as an
/// independent implementation.
/// </summary>
public static class DkimCheck
{
    /// <summary>Where Debian installs the interpreter that has python3-dkim (a pyenv python on PATH may not).</summary>
    public const string Python = "/usr/bin/python3";

    // dkimverify's own check (dkim.DKIM.verify, as dkim.verify does for the first signature), for every signature,
    // with dnsfunc answering from the records given as JSON in argv[1]. Prints one line per signature.
    private const string Script = """
        import json, sys, dkim
        records = json.loads(sys.argv[1])
        def dnsfunc(name, timeout=5):
            key = name.decode('ascii').rstrip('.').lower()
            return records[key].encode('ascii') if key in records else None
        message = sys.stdin.buffer.read()
        d = dkim.DKIM(message)
        count = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])
        ok = count > 0
        for i in range(count):
            try:
                good = d.verify(idx=i, dnsfunc=dnsfunc)
            except dkim.DKIMException as e:
                good = False
                print('signature %d: error %s' % (i, e))
            print('signature %d: %s %s' % (i, 'pass' if good else 'fail', d.domain.decode() if d.domain else ''))
            ok = ok and good
        print('signatures: %d' % count)
        sys.exit(0 if ok else 1)
        """;

    /// <summary>Runs dkimpy over <paramref name="message"/>; true when it has signatures and every one verifies.</summary>
    /// <param name="message">The message as the receiver got it (after dot-unstuffing).</param>
    /// <param name="records">TXT records by name (<c>s1._domainkey.example.com</c>).</param>
    public static async Task<(bool Valid, string Output)> PythonDkimAsync(byte[] message, IReadOnlyDictionary<string, string> records)
    {
        ArgumentNullException.ThrowIfNull(message);
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Script);
        psi.ArgumentList.Add(System.Text.Json.JsonSerializer.Serialize(records));
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("python3 did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.BaseStream.WriteAsync(message);
        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode == 0, (await stdout) + (await stderr));
    }

    /// <summary>Verifies every DKIM-Signature of <paramref name="message"/> with MimeKit; the result per signature, in order.</summary>
    public static async Task<IReadOnlyList<bool>> MimeKitAsync(byte[] message, IReadOnlyDictionary<string, string> records)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var stream = new MemoryStream(message, writable: false);
        var parsed = await MimeMessage.LoadAsync(stream);
        var verifier = new DkimVerifier(new Locator(records));
        verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256);
        var results = new List<bool>();
        foreach (var header in parsed.Headers.Where(h => h.Id == HeaderId.DkimSignature))
        {
            results.Add(await verifier.VerifyAsync(parsed, header));
        }

        return results;
    }

    /// <summary>The tags of the first DKIM-Signature header of <paramref name="message"/> (unfolded, whitespace removed).</summary>
    public static IReadOnlyDictionary<string, string> SignatureTags(byte[] message, int index = 0)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var stream = new MemoryStream(message, writable: false);
        var parsed = MimeMessage.Load(stream);
        var value = parsed.Headers.Where(h => h.Id == HeaderId.DkimSignature).ElementAt(index).Value;
        return value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(tag => tag.Split('=', 2))
            .ToDictionary(p => p[0], p => string.Concat(p[1].Where(c => !char.IsWhiteSpace(c))), StringComparer.Ordinal);
    }

    /// <summary>Public keys from TXT records, no DNS.</summary>
    private sealed class Locator(IReadOnlyDictionary<string, string> records) : DkimPublicKeyLocatorBase
    {
        public override Org.BouncyCastle.Crypto.AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            GetPublicKey(records[$"{selector}._domainkey.{domain}"]);

        public override Task<Org.BouncyCastle.Crypto.AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
