using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Protocol;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// One client connection as SmtpServer sees it (<see cref="ISecurableDuplexPipe"/>): our socket (NoDelay), our
/// reader (<see cref="GuardedPipeReader"/>), our TLS upgrade, our timeouts (421 4.4.2 and close).
/// </summary>
internal sealed class SessionConnection : ISecurableDuplexPipe
{
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 16 * 1024, minimumReadSize: 2048, leaveOpen: true);
    private static readonly StreamPipeWriterOptions WriterOptions = new(leaveOpen: true);

    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private readonly ISessionContext _context;
    private readonly GuardedPipeReader _reader;
    private readonly CancellationTokenSource _deadline;
    private readonly Action _release;
    private readonly Lock _waitLock = new();
    private Stream _stream;
    private PipeWriter _writer;
    private (CancellationTokenSource Idle, DateTimeOffset Start, long Bytes)? _wait;
    private CancellationToken _stressWatched;
    private CancellationTokenRegistration _stressRegistration;
    private int _disposed;
    private volatile bool _closed;

    public SessionConnection(Socket socket, ISessionContext context, InboundSession session, ListenerContext shared, Action release)
    {
        _socket = socket;
        _context = context;
        Session = session;
        Shared = shared;
        _release = release;
        _network = new NetworkStream(socket, ownsSocket: false);
        _stream = _network;
        _writer = PipeWriter.Create(_network, WriterOptions);
        _reader = new GuardedPipeReader(this, PipeReader.Create(_network, ReaderOptions));
        _deadline = new CancellationTokenSource(shared.Options.SessionTimeout, shared.TimeProvider);
        context.CommandExecuting += OnCommandExecuting;
    }

    public InboundSession Session { get; }

    public ListenerContext Shared { get; }

    public PipeReader Input => _reader;

    public PipeWriter Output => _writer;

    public bool IsSecure => _stream is SslStream;

    public SslProtocols SslProtocol => (_stream as SslStream)?.SslProtocol ?? SslProtocols.None;

    public async Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken = default)
    {
        var ssl = new SslStream(_network, leaveInnerStreamOpen: true);
        using var timeout = new CancellationTokenSource(WaitLimit(Shared.TimeProvider.GetUtcNow(), 0, WatchStress().IsCancellationRequested), Shared.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, _deadline.Token);
        try
        {
            await ssl.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions
                {
                    ServerCertificate = certificate,
                    EnabledSslProtocols = protocols,
                    ClientCertificateRequired = false,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                },
                linked.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or AuthenticationException or IOException)
        {
            await ssl.DisposeAsync();
            _reader.MarkClosed();
            Close();
            throw new IOException("The TLS handshake failed or timed out.", ex);
        }

        _stream = ssl;
        await _writer.CompleteAsync();
        _writer = PipeWriter.Create(ssl, WriterOptions);

        // Whatever the client sent after STARTTLS in the same flight arrived in plain text: it is dropped, never run.
        var dropped = _reader.Replace(PipeReader.Create(ssl, ReaderOptions));
        if (dropped > 0)
        {
            Log.PipelinedAfterStartTls(Shared.Logger, Session.ClientAddress, dropped);
        }
    }

    /// <summary>
    /// Reads from the client, bounded by the session deadline and by the command timeout: normally
    /// <see cref="InboundListenerOptions.CommandTimeout"/> per read; under stress (near MaxConnections) the whole
    /// request — begun at <paramref name="requestStart"/>, <paramref name="requestBytes"/> of it received — must arrive
    /// within <see cref="InboundListenerOptions.StressCommandTimeout"/> (plus the time MinimumTransferRate allows for
    /// those bytes), so neither an idle client nor a one-byte drip keeps a slot. Stress that begins while this read
    /// waits shortens it as well.
    /// </summary>
    internal async ValueTask<ReadResult> ReadWithTimeoutsAsync(PipeReader reader, DateTimeOffset requestStart, long requestBytes, CancellationToken cancellationToken)
    {
        var stress = WatchStress();
        var stressed = stress.IsCancellationRequested;
        using var idle = new CancellationTokenSource(WaitLimit(requestStart, requestBytes, stressed), Shared.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, idle.Token, _deadline.Token);
        lock (_waitLock)
        {
            _wait = (idle, requestStart, requestBytes);
        }

        if (!stressed && stress.IsCancellationRequested)
        {
            // Stress began between the check and the registration of this wait.
            OnStress();
        }

        try
        {
            return await reader.ReadAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var which = !idle.IsCancellationRequested ? "session" : stressed || stress.IsCancellationRequested ? "stress" : "idle";
            Log.SessionTimedOut(Shared.Logger, Session.ClientAddress, which);
            Shared.Metrics.TimedOut();
            await CloseWithReplyAsync(Replies.Timeout(Shared.Options.ServerName));
            throw new SessionTimeoutException();
        }
        finally
        {
            lock (_waitLock)
            {
                _wait = null;
            }
        }
    }

    /// <summary>Reads one DATA body into the store (see <see cref="GuardedPipeReader"/>).</summary>
    internal async Task ReceiveMessageAsync(CancellationToken cancellationToken)
    {
        var options = Shared.Options;
        var now = Shared.TimeProvider.GetUtcNow();
        var id = Guid.CreateVersion7(now).ToString("N");
        var authenticated = _context.Authentication.IsAuthenticated;
        var header = ReceivedHeader.Build(
            Session.Helo, Session.ClientAddress, options.ServerName, Session.Esmtp, IsSecure, authenticated,
            IsSecure ? SslProtocol.ToString() : null, id, now);

        Session.Pending?.Dispose();
        Session.Pending = null;
        var message = new ReceivedMessage(id, now, header, options.MaxMessageSize);
        var parser = new DataParser();
        var reader = _reader.Inner;
        try
        {
            await message.StartAsync(Shared.Store, cancellationToken);
            var dataStart = Shared.TimeProvider.GetUtcNow();
            long received = 0;
            while (true)
            {
                var result = await ReadWithTimeoutsAsync(reader, dataStart, received, cancellationToken);
                var buffer = result.Buffer;
                var done = false;
                long consumed = 0;
                foreach (var segment in buffer)
                {
                    done = parser.Parse(segment.Span, message, out var used);
                    consumed += used;
                    if (done)
                    {
                        break;
                    }
                }

                if (parser.BareLineEnding)
                {
                    message.MarkBareLineEnding();
                }

                reader.AdvanceTo(buffer.GetPosition(consumed));
                received += consumed;
                if (done)
                {
                    break;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    throw new IOException("The client closed the connection during DATA.");
                }

                await message.FlushAsync(force: false, cancellationToken);
            }

            Session.Pending = message;
        }
        catch
        {
            // Where the client is in its message is unknown now: never read another byte as a command.
            message.Dispose();
            _reader.MarkClosed();
            Close();
            throw;
        }
    }

    /// <summary>Sends a last reply straight to the stream and closes the connection.</summary>
    internal async Task CloseWithReplyAsync(string reply)
    {
        if (_closed)
        {
            return;
        }

        try
        {
            using var writeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), Shared.TimeProvider);
            await _stream.WriteAsync(Encoding.ASCII.GetBytes(reply + "\r\n"), writeTimeout.Token);
            await _stream.FlushAsync(writeTimeout.Token);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The client is gone already.
        }

        Close();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _context.CommandExecuting -= OnCommandExecuting;
            _stressRegistration.Dispose();
            Session.Pending?.Dispose();
            Session.Pending = null;
            Close();
            try
            {
                _writer.Complete();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                // Unsent bytes for a client that is gone.
            }

            _stream.Dispose();
            _network.Dispose();
            _socket.Dispose();
            _deadline.Dispose();
        }
        finally
        {
            // The connection slot is given back whatever happened above.
            _release();
        }
    }

    /// <summary>The listener's stress signal, watched by this session (re-registered when a new stress period can begin).</summary>
    private CancellationToken WatchStress()
    {
        var stress = Shared.Limiter.Stress;
        if (stress != _stressWatched)
        {
            _stressRegistration.Dispose();
            _stressWatched = stress;
            _stressRegistration = stress.UnsafeRegister(static s => ((SessionConnection)s!).OnStress(), this);
        }

        return stress;
    }

    private void OnStress()
    {
        lock (_waitLock)
        {
            if (_wait is { } wait)
            {
                wait.Idle.CancelAfter(WaitLimit(wait.Start, wait.Bytes, stressed: true));
            }
        }
    }

    private TimeSpan WaitLimit(DateTimeOffset requestStart, long requestBytes, bool stressed)
    {
        var options = Shared.Options;
        if (!stressed)
        {
            return options.CommandTimeout;
        }

        var allowed = options.StressCommandTimeout + TimeSpan.FromSeconds((double)requestBytes / options.MinimumTransferRate);
        var left = requestStart + allowed - Shared.TimeProvider.GetUtcNow();
        return left <= TimeSpan.Zero ? TimeSpan.Zero : left < options.CommandTimeout ? left : options.CommandTimeout;
    }

    private void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed by the peer.
        }

        _socket.Close();
    }

    private void OnCommandExecuting(object? sender, SmtpCommandEventArgs e)
    {
        switch (e.Command)
        {
            case EhloCommand ehlo:
                Session.Helo = ehlo.DomainOrAddress;
                Session.Esmtp = true;
                break;
            case HeloCommand helo:
                Session.Helo = helo.DomainOrAddress;
                Session.Esmtp = false;
                break;
            case DataCommand:
                // The state machine accepted DATA, so there is at least one recipient and the library reads a body next.
                Session.EndTransaction();
                _reader.ExpectData();
                break;
            case RsetCommand:
                Session.EndTransaction();
                break;
        }
    }
}
