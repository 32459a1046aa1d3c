using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace MailGateway.Listener.Tests;

/// <summary>Real clients: MailKit on a NoDelay socket, and swaks as a child process.</summary>
internal static class Clients
{
    public static async Task<SmtpClient> MailKitAsync(int port, SecureSocketOptions security, CancellationToken cancellationToken = default)
    {
        var client = new SmtpClient
        {
            ServerCertificateValidationCallback = (_, certificate, _, _) => RawSmtpClient.TrustsTestAuthority(certificate),
            Timeout = 30_000,
            LocalDomain = "client.test",
        };
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
        await client.ConnectAsync(socket, "localhost", port, security, cancellationToken);
        return client;
    }

    public static MimeMessage Message(string to = "user@" + TestListener.Domain, string subject = "Hello", string body = "Hi there.\r\n")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@remote.test"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId("remote.test");
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    public static async Task<(int ExitCode, string Output)> SwaksAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/swaks")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("swaks did not start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
