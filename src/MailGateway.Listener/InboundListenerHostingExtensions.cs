using Azure.Identity;
using Azure.Storage.Blobs;
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
    /// (the Container Apps host passes 25 and 587, the standalone host 2525).
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
            .ValidateOnStart();

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IInboundMessageStore>(sp => CreateStore(sp.GetRequiredService<IOptions<InboundListenerOptions>>().Value));
        builder.Services.AddSingleton<InboundListenerService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InboundListenerService>());
        return builder;
    }

    private static IInboundMessageStore CreateStore(InboundListenerOptions options)
    {
        if (options.Store == InboundStoreKind.FileSystem)
        {
            return new FileSystemInboundMessageStore(options.FileSystem.Path);
        }

        var blob = options.Blob;
        var service = string.IsNullOrWhiteSpace(blob.ConnectionString)
            ? new BlobServiceClient(blob.ServiceUri, new DefaultAzureCredential())
            : new BlobServiceClient(blob.ConnectionString);
        return new BlobInboundMessageStore(service.GetBlobContainerClient(blob.ContainerName), blob.BlockSize, blob.CreateContainer);
    }
}
