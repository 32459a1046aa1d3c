using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
namespace MailGateway.Testing;

/// <summary>An SMTP client on a bare socket: sends exactly the bytes a test gives it (strings as Latin-1, one byte per char) and reads replies.</summary>
public sealed class RawSmtpClient : IAsyncDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);
    private readonly Socket _socket;
    private readonly List<byte> _buffer = [];
    private Stream _stream;

    private RawSmtpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public Socket Socket => _socket;

    /// <summary>Connects to <paramref name="address"/> (127.0.0.1 by default), from <paramref name="from"/> when given (another loopback address).</summary>
    public static async Task<RawSmtpClient> ConnectAsync(int port, IPAddress? address = null, IPAddress? from = null)
    {
        address ??= IPAddress.Loopback;
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (from is not null)
            {
                socket.Bind(new IPEndPoint(from, 0));
            }

            await socket.ConnectAsync(new IPEndPoint(address, port));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RawSmtpClient(socket);
    }

    /// <summary>Connects and reads the greeting, which must be 220.</summary>
    public static async Task<RawSmtpClient> ConnectAndGreetAsync(int port, string? ehlo = "client.test", IPAddress? address = null, IPAddress? from = null)
    {
        var client = await ConnectAsync(port, address, from);
        var greeting = await client.ReadReplyAsync();
        Expect(220, greeting);
        if (ehlo is not null)
        {
            Expect(250, await client.CommandAsync("EHLO " + ehlo));
        }

        return client;
    }

    /// <summary>Connects, greets, upgrades with STARTTLS (trusting the test CA) and says EHLO again.</summary>
    public static async Task<RawSmtpClient> ConnectWithTlsAsync(int port, IPAddress? from = null)
    {
        var client = await ConnectAndGreetAsync(port, from: from);
        Expect(220, await client.CommandAsync("STARTTLS"));
        await client.StartTlsAsync();
        Expect(250, await client.CommandAsync("EHLO client.test"));
        return client;
    }

    /// <summary>An <c>AUTH PLAIN</c> command line with the credentials inline.</summary>
    public static string AuthPlain(string user, string password) =>
        "AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + user + "\0" + password));

    /// <summary>Sends raw bytes as they are (invalid UTF-8, bare CR/LF, …).</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        await _stream.WriteAsync(bytes, timeout.Token);
        await _stream.FlushAsync(timeout.Token);
    }

    public async Task<RawSmtpReply> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    /// <summary>Sends one command line given as bytes (CRLF appended) and reads the reply.</summary>
    public async Task<RawSmtpReply> CommandAsync(byte[] line)
    {
        await SendAsync([.. line, (byte)'\r', (byte)'\n']);
        return await ReadReplyAsync();
    }

    /// <summary>Reads one (possibly multi-line) reply.</summary>
    public async Task<RawSmtpReply> ReadReplyAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync() ?? throw new IOException("Connection closed before a reply; got: " + string.Join(" | ", lines));
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
            {
                return new RawSmtpReply(int.Parse(line[..3], System.Globalization.CultureInfo.InvariantCulture), string.Join("\n", lines));
            }
        }
    }

    /// <summary>True when the server closed the connection (after any pending replies were read).</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        try
        {
            return await ReadLineAsync() is null;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Reads whatever lines the server still sends until it closes the connection.</summary>
    public async Task<List<string>> ReadUntilClosedAsync()
    {
        var lines = new List<string>();
        try
        {
            while (await ReadLineAsync() is { } line)
            {
                lines.Add(line);
            }
        }
        catch (IOException)
        {
            // Reset instead of a clean close: closed all the same.
        }

        return lines;
    }

    public async Task StartTlsAsync()
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false, (_, certificate, _, _) => TrustsTestAuthority(certificate));
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, timeout.Token);
        _buffer.Clear();
        _stream = ssl;
    }

    public static bool TrustsTestAuthority(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(TestCertificates.Shared.Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var cert = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(cert);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }

    private static void Expect(int code, RawSmtpReply reply)
    {
        if (reply.Code != code)
        {
            throw new InvalidOperationException($"Expected {code}, got: {reply.Text}");
        }
    }

    private async Task<string?> ReadLineAsync()
    {
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        var chunk = new byte[4096];
        while (true)
        {
            var lf = _buffer.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.Latin1.GetString(_buffer.GetRange(0, lf).ToArray()).TrimEnd('\r');
                _buffer.RemoveRange(0, lf + 1);
                return line;
            }

            var read = await _stream.ReadAsync(chunk, timeout.Token);
            if (read == 0)
            {
                return null;
            }

            _buffer.AddRange(chunk.AsSpan(0, read).ToArray());
        }
    }
}

/// <summary>Several raw clients disposed together (a flood, a full listener).</summary>
public sealed class RawSmtpClientCollection : List<RawSmtpClient>, IAsyncDisposable
{
    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var client in this)
        {
            await client.DisposeAsync();
        }
    }
}

/// <summary>One SMTP reply: its code and its lines joined by LF.</summary>
public sealed record RawSmtpReply(int Code, string Text);
