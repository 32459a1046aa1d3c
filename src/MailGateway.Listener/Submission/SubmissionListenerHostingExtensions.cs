using MailGateway.Core;
using MailGateway.Core.Keys;
using MailGateway.Core.Submissions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace MailGateway.Listener.Submission;

/// <summary>Registration of SMTP submission in a host.</summary>
public static class SubmissionListenerHostingExtensions
{
    /// <summary>
    /// Adds SMTP submission, bound to <c>MailGateway:Submission</c> and validated at start. When the configuration lists
    /// no endpoints, <paramref name="defaultAddress"/> with <paramref name="startTlsPort"/> (STARTTLS, default 587) and
    /// <paramref name="implicitTlsPort"/> (implicit TLS, default 465). Core's submission
    /// services are registered here (<see cref="ServiceCollectionExtensions.AddMessageSubmission"/>); the host registers
    /// its <see cref="IMessageAcceptor"/> and, unless it registers a keyed certificate source
    /// (<see cref="SubmissionListenerService.CertificateKey"/>) first, the listener's <see cref="IServerCertificateSource"/>.
    /// </summary>
    public static IHostApplicationBuilder AddSubmissionListener(this IHostApplicationBuilder builder, string defaultAddress = "0.0.0.0", int startTlsPort = 587, int implicitTlsPort = 465)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<SubmissionListenerOptions>()
            .BindConfiguration(SubmissionListenerOptions.SectionName)
            .PostConfigure(o =>
            {
                if (o.Endpoints.Count == 0)
                {
                    o.Endpoints.Add(new InboundEndpointOptions { Address = defaultAddress, Port = startTlsPort });
                    o.Endpoints.Add(new InboundEndpointOptions { Address = defaultAddress, Port = implicitTlsPort, ImplicitTls = true });
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddMessageSubmission();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton(sp => new SubmissionServices(
            sp.GetRequiredService<MimeMessageSubmission>(), sp.GetRequiredService<ApiKeyVerifier>(), sp.GetRequiredService<KeyRateLimiter>()));
        builder.Services.TryAddKeyedSingleton<IServerCertificateSource>(
            SubmissionListenerService.CertificateKey, (sp, _) => sp.GetRequiredService<IServerCertificateSource>());
        builder.Services.AddSingleton<SubmissionListenerService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SubmissionListenerService>());
        return builder;
    }
}
