using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Listener;

/// <summary>Runs the <see cref="InboundListener"/> for the host's lifetime, with the host's store and certificate source.</summary>
public sealed class InboundListenerService(
    IOptions<InboundListenerOptions> options,
    IInboundMessageStore store,
    IServerCertificateSource certificates,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory,
    IMeterFactory meterFactory)
    : IHostedService, IAsyncDisposable
{
    private InboundListener? _listener;
    private X509Certificate2? _certificate;

    /// <summary>The bound endpoints once started.</summary>
    public IReadOnlyList<IPEndPoint> LocalEndpoints => _listener?.LocalEndpoints ?? [];

    /// <summary>True once every endpoint is bound and accepting (readiness).</summary>
    public bool IsListening => _listener is not null && _listener.LocalEndpoints.Count > 0;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _certificate = await certificates.LoadAsync(cancellationToken);
        _listener = new InboundListener(options.Value, store, _certificate, timeProvider, loggerFactory, meterFactory);
        await _listener.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => _listener?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        _certificate?.Dispose();
    }
}
