using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;
using SmtpServerServices = SmtpServer.ComponentModel.ServiceProvider;

namespace MailGateway.Standalone;

/// <summary>
/// A minimal SMTP sink for development: accepts every message on loopback (no TLS, no AUTH) and writes it to
/// <c>capture/</c> in the data folder. Used only when no relay is configured, so the whole loop works out of the
/// box; the inbound listener of the gateway is a separate, complete component.
/// </summary>
internal sealed partial class CaptureSmtpServer : BackgroundService
{
    private readonly CaptureOptions _options;
    private readonly ILogger<CaptureSmtpServer> _logger;

    public CaptureSmtpServer(IOptions<CaptureOptions> options, CapturePaths paths, ILogger<CaptureSmtpServer> logger)
    {
        _options = options.Value;
        Directory = paths.Directory;
        _logger = logger;
    }

    public string Directory { get; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var endpoint = new EndpointDefinitionBuilder()
            .Endpoint(new IPEndPoint(IPAddress.Parse(_options.Host), _options.Port))
            .Build();
        var options = new SmtpServerOptionsBuilder()
            .ServerName("capture.mailgateway.local")
            .MaxMessageSize(_options.MaxMessageBytes, MaxMessageSizeHandling.Strict)
            .Endpoint(endpoint)
            .Build();
        var services = new SmtpServerServices();
        services.Add(new NoDelayListenerFactory());
        services.Add(new CaptureStore(Directory));
        var server = new SmtpServerHost(options, services);
        LogListening(_options.Host, _options.Port, Directory);
        try
        {
            await server.StartAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Capture SMTP listener on {Host}:{Port}, messages in {Directory}")]
    private partial void LogListening(string host, int port, string directory);

    private sealed class CaptureStore(string directory) : MessageStore
    {
        private long _count;

        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd-HHmmss-fff}-{Interlocked.Increment(ref _count):D6}-{Guid.NewGuid():N}.eml");
            var temp = Path.Combine(directory, "." + name + ".tmp");
            try
            {
                await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
                {
                    foreach (var segment in buffer)
                    {
                        await file.WriteAsync(segment, cancellationToken);
                    }

                    file.Flush(flushToDisk: true);
                }

                File.Move(temp, Path.Combine(directory, name));
                return SmtpResponse.Ok;
            }
            catch (IOException)
            {
                // Never a permanent 554 for a local storage problem: the sender retries a 451.
                return new SmtpResponse((SmtpReplyCode)451, "Requested action aborted: local error in processing");
            }
        }
    }

    /// <summary>Accepts sockets with Nagle off (the library's default leaves it on and stalls pipelining clients ~40 ms per message).</summary>
    private sealed class NoDelayListenerFactory : IEndpointListenerFactory
    {
        public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
        {
            var listener = new TcpListener(endpointDefinition.Endpoint);
            listener.Start();
            return new Listener(listener);
        }

        private sealed class Listener(TcpListener listener) : IEndpointListener
        {
            public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
            {
                var client = await listener.AcceptTcpClientAsync(cancellationToken);
                client.NoDelay = true;
                context.Properties[EndpointListener.LocalEndPointKey] = client.Client.LocalEndPoint!;
                context.Properties[EndpointListener.RemoteEndPointKey] = client.Client.RemoteEndPoint!;
                return new PlainPipe(client);
            }

            public void Dispose() => listener.Stop();
        }

        private sealed class PlainPipe(TcpClient client) : ISecurableDuplexPipe
        {
            private readonly NetworkStream _stream = client.GetStream();

            public PipeReader Input => field ??= PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));

            public PipeWriter Output => field ??= PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));

            public bool IsSecure => false;

            public SslProtocols SslProtocol => SslProtocols.None;

            public Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken = default) =>
                throw new NotSupportedException("The capture listener does not offer TLS.");

            public void Dispose()
            {
                _stream.Dispose();
                client.Dispose();
            }
        }
    }
}

/// <summary>Where captured messages go.</summary>
internal sealed record CapturePaths(string Directory);
