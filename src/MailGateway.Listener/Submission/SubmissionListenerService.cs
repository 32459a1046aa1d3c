using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MailGateway.Core.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Listener.Submission;

/// <summary>
/// Runs the listener in its submission role for the host's lifetime (<see cref="SubmissionListenerOptions"/>), with
/// the certificate of the keyed <see cref="IServerCertificateSource"/> <see cref="CertificateKey"/> (by default the
/// listener's own source). Without a certificate it does not start: AUTH is offered over TLS only.
/// </summary>
public sealed class SubmissionListenerService(
    IOptions<SubmissionListenerOptions> options,
    IOptions<MessageLimitsOptions> limits,
    SubmissionServices submission,
    [FromKeyedServices(SubmissionListenerService.CertificateKey)] IServerCertificateSource certificates,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory,
    IMeterFactory meterFactory)
    : IHostedService, IAsyncDisposable
{
    /// <summary>The service key of the submission listener's certificate source.</summary>
    public const string CertificateKey = "MailGateway:Submission";

    private InboundListener? _listener;
    private X509Certificate2? _certificate;

    /// <summary>The bound endpoints once started (none when disabled).</summary>
    public IReadOnlyList<IPEndPoint> LocalEndpoints => _listener?.LocalEndpoints ?? [];

    /// <summary>True when the submission listener is configured to run.</summary>
    public bool Enabled => options.Value.Enabled;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (!o.Enabled)
        {
            return;
        }

        _certificate = await certificates.LoadAsync(cancellationToken)
            ?? throw new InvalidOperationException(
                $"{SubmissionListenerOptions.SectionName} needs a TLS certificate (AUTH is offered over TLS only): configure {InboundListenerOptions.SectionName}:Tls, or set {SubmissionListenerOptions.SectionName}:Enabled to false.");
        _listener = new InboundListener(o.ToListenerOptions(limits.Value.MaxMessageBytes, limits.Value.MaxRecipients), submission, _certificate, timeProvider, loggerFactory, meterFactory);
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
