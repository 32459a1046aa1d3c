using System.Diagnostics;
using MailGateway.Core.Dkim;
using MailGateway.Core.Messages;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit.Cryptography;

namespace MailGateway.Bench;

/// <summary>
/// The CPU cost of signing, in one thread and without I/O: composing N 4 KB messages, composing and signing them
/// (DkimMessageSigner, RSA 2048 through OpenSSL), and composing and signing with MimeKit's stock DkimSigner (RSA in
/// BouncyCastle) for reference. Prints CPU microseconds per message for each.
/// </summary>
internal static class DkimSignBenchmark
{
    public static Task<int> RunAsync(string[] args)
    {
        var messages = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 2000;
        var directory = Directory.CreateTempSubdirectory("mgw-bench-dkim-").FullName;
        try
        {
            var pair = DkimKeyGenerator.CreateRsa("example.com", "bench", 2048);
            var path = Path.Combine(directory, "key.pem");
            File.WriteAllText(path, pair.PrivateKeyPem);
            var signer = new DkimMessageSigner(
                Options.Create(new DkimOptions { Keys = [new DkimKeyOptions { Domain = "example.com", Selector = "bench", PrivateKeyPath = path }] }),
                TimeProvider.System, NullLogger<DkimMessageSigner>.Instance);
            var key = signer.Keys.Keys[0];
            var composer = new MessageComposer(Options.Create(new MessageLimitsOptions()), TimeProvider.System);
            var message = new OutboundMessage
            {
                From = new EmailAddress("app@example.com"),
                To = [new EmailAddress("rcpt@example.net")],
                Subject = "bench",
                Text = new string('x', 4000),
            };

            var headers = DkimMessageSigner.SignedHeaders.Take(8).Append("From").ToArray();
            long bytes = 0;
            double Measure(Func<int, int> work)
            {
                for (var i = 0; i < 200; i++)
                {
                    work(i);
                }

                // CPU time of the process, not wall time: the machine is shared.
                using var process = Process.GetCurrentProcess();
                var cpu = process.TotalProcessorTime;
                for (var i = 0; i < messages; i++)
                {
                    bytes += work(i);
                }

                process.Refresh();
                return (process.TotalProcessorTime - cpu).TotalMicroseconds / messages;
            }

            var once = composer.Compose(message, "once");
            var signOnly = Measure(_ => signer.Sign(once).Bytes.Length);
            var compose = Measure(i => composer.Compose(message, $"id{i}").Bytes.Length);
            var signed = Measure(i => signer.Sign(composer.Compose(message, $"id{i}")).Bytes.Length);
            var bouncy = Measure(i =>
            {
                var composed = composer.Compose(message, $"id{i}");
                var stock = new DkimSigner(key.PrivateKey, "example.com", "bench", DkimSignatureAlgorithm.RsaSha256)
                {
                    HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
                    BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
                };
                stock.Sign(MessageComposer.WireFormat, composed.Message, headers);
                return composed.Bytes.Length;
            });

            using var rsa = System.Security.Cryptography.RSA.Create();
            rsa.ImportFromPem(pair.PrivateKeyPem);
            var digest = new byte[32];
            var rsaOnly = Measure(_ => rsa.SignHash(digest, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1).Length);

            Console.WriteLine($"compose {compose:F0} us/msg; compose+sign (OpenSSL RSA) {signed:F0} us/msg; compose+sign (MimeKit stock, BouncyCastle RSA) {bouncy:F0} us/msg; one RSA 2048 signature alone (OpenSSL) {rsaOnly:F0} us; signing a composed message {signOnly:F0} us (CPU time of the process); ({bytes} bytes)");
            return Task.FromResult(0);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
