using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MailGateway.Listener.Smtp;
using MailGateway.Listener.Storage;
using MailGateway.Listener.Submission;
using Microsoft.Extensions.Logging;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServiceProvider = SmtpServer.ComponentModel.ServiceProvider;

namespace MailGateway.Listener;

/// <summary>
/// The inbound SMTP listener: SmtpServer 11 with our socket handling, reader, mailbox filter, authenticator and
/// store adapter. Start it, read <see cref="LocalEndpoints"/>, dispose it to stop.
/// </summary>
public sealed class InboundListener : IAsyncDisposable
{
    // The library's own timers (real time) only back ours up; ours answer 421 first.
    private static readonly TimeSpan LibraryGrace = TimeSpan.FromMinutes(1);

    private readonly InboundListenerOptions _options;
    private readonly IInboundMessageStore _store;
    private readonly X509Certificate2? _certificate;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly List<IPEndPoint> _localEndpoints = [];
    private readonly InboundMetrics _metrics;
    private readonly SubmissionServices? _submission;
    private CancellationTokenSource? _stopping;
    private ConnectionLimiter? _limiter;
    private SmtpServer.SmtpServer? _server;
    private Task? _running;
    private int _stopped;
    private int _disposed;

    /// <summary>Creates a listener; nothing is bound before <see cref="StartAsync"/>.</summary>
    public InboundListener(
        InboundListenerOptions options, IInboundMessageStore store, X509Certificate2? certificate, TimeProvider timeProvider, ILoggerFactory loggerFactory, IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options;
        _store = store;
        _certificate = certificate;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = loggerFactory.CreateLogger("MailGateway.Listener");
        _metrics = new InboundMetrics(meterFactory);
    }

    /// <summary>
    /// Creates a listener in the submission role: clients authenticate with an API key (over TLS only, so a certificate
    /// is required), MAIL FROM and the header From must be in the key's sender domains, and each message goes through
    /// Core's accept port (<see cref="SubmissionServices"/>) before 250. Every endpoint requires authentication.
    /// </summary>
    public InboundListener(
        InboundListenerOptions options, SubmissionServices submission, X509Certificate2 certificate, TimeProvider timeProvider, ILoggerFactory loggerFactory, IMeterFactory meterFactory)
        : this(options, new SubmissionBufferStore(), certificate ?? throw new ArgumentNullException(nameof(certificate)), timeProvider, loggerFactory, meterFactory)
    {
        _submission = submission ?? throw new ArgumentNullException(nameof(submission));
        _logger = loggerFactory.CreateLogger("MailGateway.Listener.Submission");
    }

    /// <summary>The bound endpoints, in configuration order (port 0 resolved).</summary>
    public IReadOnlyList<IPEndPoint> LocalEndpoints => _localEndpoints;

    /// <summary>The meter the listener reports on.</summary>
    internal Meter Meter => _metrics.Meter;

    /// <summary>Connections currently open (for tests and metrics).</summary>
    public int OpenConnections => _limiter?.Total ?? 0;

    /// <summary>Prepares the store, binds every endpoint and starts accepting.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            throw new InvalidOperationException("The listener is already started.");
        }

        // Also checked here, not only by options validation: the listener can be built without a host.
        if (_options.CaptureModeError() is { } captureError)
        {
            throw new InvalidOperationException(captureError);
        }

        // Every store call is bounded, whatever the store (StoreTimeout); at start too, so a hung store stops the start.
        IInboundMessageStore store = _submission is null ? new TimeBoundedStore(_store, _options.StoreTimeout, _timeProvider) : _store;
        await store.InitializeAsync(cancellationToken);
        _limiter = new ConnectionLimiter(_options.MaxConnections, _options.MaxConnectionsPerClient, _options.MaxConnectionsPerIPv6Prefix, _options.StressThreshold);
        var shared = new ListenerContext(_options, store, _timeProvider, _logger, _metrics, _limiter, _submission is not null);
        var sockets = new Dictionary<IEndpointDefinition, Socket>();
        var builder = new SmtpServerOptionsBuilder()
            .ServerName(_options.ServerName)
            .MaxMessageSize(_options.MaxMessageSize, MaxMessageSizeHandling.Ignore)
            .MaxRetryCount(_options.MaxErrors)
            .MaxAuthenticationAttempts(_options.MaxAuthenticationAttempts)
            .CommandWaitTimeout(_options.CommandTimeout + LibraryGrace)
            .CustomSmtpGreeting(_ => Replies.Greeting(_options.ServerName));
        try
        {
            foreach (var endpoint in _options.Endpoints)
            {
                var socket = Bind(endpoint);
                var local = (IPEndPoint)socket.LocalEndPoint!;
                var definition = new EndpointDefinitionBuilder()
                    .Endpoint(local)
                    .IsSecure(endpoint.ImplicitTls)
                    .AuthenticationRequired(endpoint.RequireAuthentication || _submission is not null)
                    .AllowUnsecureAuthentication(false)
                    .SessionTimeout(_options.SessionTimeout + LibraryGrace)
                    .SupportedSslProtocols(SslProtocols.None);
                if (_certificate is not null)
                {
                    definition.Certificate(_certificate);
                }

                var built = definition.Build();
                sockets.Add(built, socket);
                builder.Endpoint(built);
                _localEndpoints.Add(local);
                Log.Listening(_logger, local, endpoint.ImplicitTls, _certificate is not null && !endpoint.ImplicitTls, endpoint.RequireAuthentication);
            }
        }
        catch
        {
            foreach (var socket in sockets.Values)
            {
                socket.Dispose();
            }

            _localEndpoints.Clear();
            throw;
        }

        var services = new SmtpServiceProvider();
        services.Add(new InboundEndpointListenerFactory(sockets, shared));
        if (_submission is null)
        {
            var authenticator = new InboundUserAuthenticator(shared);
            services.Add((IMailboxFilter)new InboundMailboxFilter(shared));
            services.Add((IUserAuthenticator)authenticator);
            services.Add((IMessageStore)new InboundMessageStoreAdapter(shared));
            services.Add((ISmtpCommandFactory)new InboundCommandFactory(authenticator.HasUsers));
        }
        else
        {
            services.Add((IMailboxFilter)new SubmissionMailboxFilter(shared, _submission));
            services.Add((IUserAuthenticator)new SubmissionAuthenticator(shared, _submission));
            services.Add((IMessageStore)new SubmissionMessageAdapter(shared, _submission));
            services.Add((ISmtpCommandFactory)new InboundCommandFactory(hasUsers: true));
        }

        if (_options.AcceptAllRecipients)
        {
            Log.CaptureMode(_logger);
        }

        _server = new SmtpServer.SmtpServer(builder.Build(), services);
        _server.SessionFaulted += (_, e) => Log.SessionFaulted(
            _logger,
            InboundSession.From(e.Context)?.ClientAddress.ToString() ?? "?",
            e.Exception.GetType().Name,
            e.Exception.Message);
        _stopping = new CancellationTokenSource();
        _running = _server.StartAsync(_stopping.Token);
    }

    /// <summary>Stops accepting, cancels open sessions and waits for them to end.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null || _stopping is null || _running is null || Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _server.Shutdown();
        await _stopping.CancelAsync();
        try
        {
            await _running.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The sessions ended by cancellation, as asked.
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _timeProvider);
        try
        {
            await StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Sessions that would not end are abandoned with the process.
        }

        _stopping?.Dispose();
    }

    private static Socket Bind(InboundEndpointOptions endpoint)
    {
        var address = IPAddress.Parse(endpoint.Address);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(new IPEndPoint(address, endpoint.Port));
            socket.Listen(512);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
