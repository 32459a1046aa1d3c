using System.Collections.Concurrent;
using System.Net;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;

namespace MailGateway.Testing;

/// <summary>
/// Binds SmtpServer endpoints on port 0 (the OS picks a free port, reported in <see cref="PortOf"/>) and turns
/// Nagle off on every accepted socket, which the library's default listener does not do.
/// </summary>
internal sealed class LoopbackListenerFactory : IEndpointListenerFactory
{
    private readonly ConcurrentDictionary<IEndpointDefinition, TaskCompletionSource<int>> _ports = new();

    public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
    {
        var listener = new TcpListener(endpointDefinition.Endpoint);
        listener.Start();
        _ports.GetOrAdd(endpointDefinition, _ => new(TaskCreationOptions.RunContinuationsAsynchronously))
            .TrySetResult(((IPEndPoint)listener.LocalEndpoint).Port);
        return new Listener(listener);
    }

    public Task<int> PortOf(IEndpointDefinition endpointDefinition) =>
        _ports.GetOrAdd(endpointDefinition, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    private sealed class Listener(TcpListener listener) : IEndpointListener
    {
        public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
        {
            var client = await listener.AcceptTcpClientAsync(cancellationToken);
            client.NoDelay = true;
            context.Properties[EndpointListener.LocalEndPointKey] = client.Client.LocalEndPoint!;
            context.Properties[EndpointListener.RemoteEndPointKey] = client.Client.RemoteEndPoint!;
            return new StreamDuplexPipe(client.GetStream(), client.Dispose);
        }

        public void Dispose() => listener.Stop();
    }
}

/// <summary>A pipe over a network stream that can be upgraded to TLS in place (SmtpServer's own is internal).</summary>
internal sealed class StreamDuplexPipe(Stream stream, Action onDispose) : ISecurableDuplexPipe
{
    private Stream _stream = stream;

    public PipeReader Input { get; private set; } = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));

    public PipeWriter Output { get; private set; } = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));

    public bool IsSecure => _stream is SslStream;

    public SslProtocols SslProtocol => (_stream as SslStream)?.SslProtocol ?? SslProtocols.None;

    public async Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken = default)
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: true);
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            EnabledSslProtocols = protocols,
            ClientCertificateRequired = false,
        }, cancellationToken);
        _stream = ssl;
        Input = PipeReader.Create(ssl, new StreamPipeReaderOptions(leaveOpen: true));
        Output = PipeWriter.Create(ssl, new StreamPipeWriterOptions(leaveOpen: true));
    }

    public void Dispose()
    {
        _stream.Dispose();
        onDispose();
    }
}
