using MailGateway.Listener.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.Listener;

/// <summary>Registration of the inbound SMTP listener in a host.</summary>
public static class InboundListenerHostingExtensions
{
    /// <summary>
    /// Adds the inbound SMTP listener, bound to <c>MailGateway:Inbound</c> and validated at start. When the
    /// configuration lists no endpoints, <paramref name="defaultPorts"/> are used on all IPv4 addresses
    /// (the Container Apps host passes 25 and 587, the standalone host 2525). The store is the filesystem store and the
    /// certificate a PFX file, unless the host registered another <see cref="IInboundMessageStore"/> or
    /// <see cref="IServerCertificateSource"/> first (the Container Apps host: Blob and Key Vault from the Azure adapters).
    /// </summary>
    public static IHostApplicationBuilder AddInboundListener(this IHostApplicationBuilder builder, params int[] defaultPorts)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<InboundListenerOptions>()
            .BindConfiguration(InboundListenerOptions.SectionName)
            .PostConfigure(o =>
            {
                if (o.Endpoints.Count == 0)
                {
                    o.Endpoints.AddRange(defaultPorts.Select(p => new InboundEndpointOptions { Port = p }));
                }
            })
            .ValidateDataAnnotations()
            .Validate(
                o => o.Store != InboundStoreKind.Blob || !UsesFileStore(builder.Services),
                $"{InboundListenerOptions.SectionName}:Store is Blob, but this host has no Blob store (it is in MailGateway.AzureAdapters, used by the MailGateway.Inbound host); use FileSystem.")
            .ValidateOnStart();

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IInboundMessageStore>(CreateFileStore);
        builder.Services.TryAddSingleton<IServerCertificateSource, PfxServerCertificateSource>();
        builder.Services.AddSingleton<InboundListenerService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InboundListenerService>());
        return builder;
    }

    private static FileSystemInboundMessageStore CreateFileStore(IServiceProvider services)
    {
        var files = services.GetRequiredService<IOptions<InboundListenerOptions>>().Value.FileSystem;
        return new(files.Path, files.Commit);
    }

    // Read from the registrations, not by resolving the store: the store is built from the options being validated.
    // A store wrapped for bounce processing is judged by the registration it wraps.
    private static bool UsesFileStore(IServiceCollection services) =>
        (services.LastOrDefault(d => d.ServiceType == typeof(WrappedInboundStore))?.ImplementationInstance is WrappedInboundStore wrapped
            ? wrapped.Inner
            : services.LastOrDefault(d => d.ServiceType == typeof(IInboundMessageStore))) is { ImplementationFactory: { } factory }
        && factory.Method == ((Func<IServiceProvider, FileSystemInboundMessageStore>)CreateFileStore).Method;
}

/// <summary>The registration of the inbound store that <see cref="InboundBounceHostingExtensions"/> replaced with its wrapper.</summary>
/// <param name="Inner">The wrapped registration.</param>
internal sealed record WrappedInboundStore(ServiceDescriptor Inner);
