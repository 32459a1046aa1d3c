using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;
using SmtpServerServices = SmtpServer.ComponentModel.ServiceProvider;

namespace MailGateway.Testing;

/// <summary>A message as the relay received it (the DATA after dot-unstuffing).</summary>
public sealed record RelayedMessage(string MailFrom, IReadOnlyList<string> Recipients, byte[] Data, int Port, bool Secure, string? AuthenticatedUser);

/// <summary>How a test relay endpoint talks TLS.</summary>
public enum RelayEndpointKind
{
    /// <summary>Plain connection that offers STARTTLS.</summary>
    StartTls,

    /// <summary>TLS from the first byte.</summary>
    ImplicitTls,

    /// <summary>Plain connection that never offers STARTTLS.</summary>
    PlainOnly,
}

/// <summary>
/// A real SMTP relay on the SmtpServer library, on 127.0.0.1 with OS-assigned ports, for the delivery tests. Each
/// phase can be scripted: the reply to MAIL and to each RCPT, a gate before a reply, the reply to the final dot.
/// </summary>
public sealed class TestRelay : IAsyncDisposable
{
    private readonly SmtpServerHost _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private readonly ConcurrentQueue<RelayedMessage> _messages = new();
    private readonly Dictionary<RelayEndpointKind, int> _ports = [];
    private int _sessions;

    private TestRelay(TestRelayOptions options)
    {
        Options = options;
        var factory = new LoopbackListenerFactory();
        var builder = new SmtpServerOptionsBuilder().ServerName("relay.test");
        if (options.MaxMessageSize is { } max)
        {
            builder.MaxMessageSize(max, MaxMessageSizeHandling.Strict);
        }

        var definitions = new List<(RelayEndpointKind Kind, IEndpointDefinition Definition)>();
        foreach (var kind in options.Endpoints)
        {
            var endpoint = new EndpointDefinitionBuilder()
                .Endpoint(new IPEndPoint(IPAddress.Loopback, 0))
                .IsSecure(kind == RelayEndpointKind.ImplicitTls)
                .AllowUnsecureAuthentication(kind == RelayEndpointKind.PlainOnly)
                .AuthenticationRequired(options.Credentials is not null);
            if (kind != RelayEndpointKind.PlainOnly)
            {
                endpoint.Certificate(options.Certificate ?? TestCertificates.Shared.ServerCertificate);
            }

            var definition = endpoint.Build();
            builder.Endpoint(definition);
            definitions.Add((kind, definition));
        }

        var services = new SmtpServerServices();
        services.Add(factory);
        services.Add(new Store(this));
        services.Add(new Filter(this));
        if (options.Credentials is { } credentials)
        {
            services.Add(new DelegatingUserAuthenticator((_, user, password) =>
                user == credentials.UserName && password == credentials.Password));
        }

        _server = new SmtpServerHost(builder.Build(), services);
        _server.SessionCreated += (_, _) => Interlocked.Increment(ref _sessions);
        _running = _server.StartAsync(_stop.Token);
        foreach (var (kind, definition) in definitions)
        {
            _ports[kind] = factory.PortOf(definition).WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        }
    }

    /// <summary>The scripted behaviour.</summary>
    public TestRelayOptions Options { get; }

    /// <summary>Messages accepted so far, in order.</summary>
    public IReadOnlyList<RelayedMessage> Messages => [.. _messages];

    /// <summary>How many SMTP sessions (connections) the relay has seen.</summary>
    public int SessionCount => Volatile.Read(ref _sessions);

    /// <summary>Starts a relay; every endpoint kind in <see cref="TestRelayOptions.Endpoints"/> gets its own port.</summary>
    public static Task<TestRelay> StartAsync(TestRelayOptions? options = null) =>
        Task.Run(() => new TestRelay(options ?? new TestRelayOptions()));

    /// <summary>The port of the endpoint of that kind.</summary>
    public int Port(RelayEndpointKind kind) => _ports[kind];

    /// <summary>Waits until at least <paramref name="count"/> messages arrived, or fails after the deadline.</summary>
    public async Task<IReadOnlyList<RelayedMessage>> WaitForMessagesAsync(int count, TimeSpan? deadline = null)
    {
        await Poll.UntilAsync(() => _messages.Count >= count, () => $"{_messages.Count} of {count} messages arrived", deadline);
        return Messages;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _server.Shutdown();
        await _stop.CancelAsync();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (TimeoutException)
        {
            // A test left a session hanging on purpose; the process ends it.
        }

        _stop.Dispose();
    }

    private static string Address(IMailbox mailbox) => mailbox.User + "@" + mailbox.Host;

    private sealed class Filter(TestRelay relay) : IMailboxFilter
    {
        public async Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken)
        {
            if (relay.Options.BeforeMailReply is { } gate)
            {
                await gate(cancellationToken);
            }

            return relay.Options.MailReply?.Invoke(Address(from)) is not { } reply || Throw(reply);
        }

        public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken) =>
            Task.FromResult(relay.Options.RcptReply?.Invoke(Address(to)) is not { } reply || Throw(reply));

        private static bool Throw(SmtpResponse reply) => throw new SmtpResponseException(reply);
    }

    private sealed class Store(TestRelay relay) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            if (relay.Options.BeforeDataReply is { } gate)
            {
                await gate(cancellationToken);
            }

            if (relay.Options.DataReply is { } reply)
            {
                return reply;
            }

            var local = (IPEndPoint)context.Properties[SmtpServer.Net.EndpointListener.LocalEndPointKey];
            relay._messages.Enqueue(new RelayedMessage(
                Address(transaction.From),
                [.. transaction.To.Select(Address)],
                // SmtpServer hands over the data without the CRLF that precedes the final dot; RFC 5321 §4.1.1.4
                // counts it as the end of the last line, so put it back to get the bytes the client sent.
                [.. buffer.ToArray(), (byte)'\r', (byte)'\n'],
                local.Port,
                context.Pipe.IsSecure,
                context.Authentication.IsAuthenticated ? context.Authentication.User : null));
            return SmtpResponse.Ok;
        }
    }
}

/// <summary>What a <see cref="TestRelay"/> offers and how it answers.</summary>
public sealed class TestRelayOptions
{
    /// <summary>The endpoints to open (one port each).</summary>
    public IReadOnlyList<RelayEndpointKind> Endpoints { get; init; } = [RelayEndpointKind.StartTls];

    /// <summary>The server certificate; default: the shared test CA's localhost certificate.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Credentials the relay requires (AUTH PLAIN/LOGIN); null: no AUTH.</summary>
    public NetworkCredential? Credentials { get; init; }

    /// <summary>The SIZE the relay advertises and enforces.</summary>
    public int? MaxMessageSize { get; init; }

    /// <summary>A reply to MAIL FROM for the given sender; null accepts.</summary>
    public Func<string, SmtpResponse?>? MailReply { get; init; }

    /// <summary>A reply to RCPT TO for the given recipient; null accepts.</summary>
    public Func<string, SmtpResponse?>? RcptReply { get; init; }

    /// <summary>Awaited before the relay answers MAIL FROM (a slow server).</summary>
    public Func<CancellationToken, Task>? BeforeMailReply { get; init; }

    /// <summary>Awaited before the relay answers the final dot.</summary>
    public Func<CancellationToken, Task>? BeforeDataReply { get; init; }

    /// <summary>A reply to the final dot instead of 250 (the message is then not recorded).</summary>
    public SmtpResponse? DataReply { get; init; }
}
