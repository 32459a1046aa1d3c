using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace MailGateway.Bench;

/// <summary>
/// An SMTP load client on MailKit: SESSIONS connections, each reused for its share of MESSAGES (one EHLO, one TLS
/// handshake, one AUTH per connection), every message the same size. Without a key: plain SMTP, no AUTH (the inbound
/// listener). Prints "messages seconds msg/s refused".
/// </summary>
internal static class SubmissionLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 4)
        {
            Console.Error.WriteLine("usage: MailGateway.Bench smtp-load PORT MESSAGES SESSIONS SIZE_KB [KEY_ID KEY CA_PEM] [FROM TO]");
            return 2;
        }

        var port = int.Parse(args[0], CultureInfo.InvariantCulture);
        var messages = int.Parse(args[1], CultureInfo.InvariantCulture);
        var sessions = int.Parse(args[2], CultureInfo.InvariantCulture);
        var sizeKb = int.Parse(args[3], CultureInfo.InvariantCulture);
        var auth = args.Length >= 7 && args[4] != "-" ? (Id: args[4], Key: args[5], Ca: X509CertificateLoader.LoadCertificateFromFile(args[6])) : default;
        var from = args.Length >= 9 ? args[7] : "app@example.com";
        var to = args.Length >= 9 ? args[8] : "rcpt@example.net";
        var line = new string('x', 76) + "\r\n";
        var body = string.Concat(Enumerable.Repeat(line, Math.Max(1, sizeKb * 1024 / line.Length)));
        var refused = 0;
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, sessions).Select(async _ =>
        {
            using var client = new SmtpClient { Timeout = 120_000, LocalDomain = "bench.test" };
            if (auth.Ca is not null)
            {
                client.ServerCertificateValidationCallback = (_, certificate, _, _) => certificate is not null
                    && X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()).Thumbprint == auth.Ca.Thumbprint;
            }

            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            await client.ConnectAsync(socket, "localhost", port, auth.Ca is null ? SecureSocketOptions.None : SecureSocketOptions.StartTls);
            if (auth.Ca is not null)
            {
                await client.AuthenticateAsync(auth.Id, auth.Key);
            }

            while (Interlocked.Increment(ref next) < messages)
            {
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse(from));
                message.To.Add(MailboxAddress.Parse(to));
                message.Subject = "bench";
                message.Body = new TextPart("plain") { Text = body };
                try
                {
                    await client.SendAsync(message);
                }
                catch (SmtpCommandException)
                {
                    Interlocked.Increment(ref refused);
                }
            }

            await client.DisconnectAsync(quit: true);
        }));
        clock.Stop();
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{messages} {seconds:F2} {(messages - refused) / seconds:F0} {refused}"));
        return refused == 0 ? 0 : 1;
    }
}
