using MailGateway.Core.Bounces;
using MailGateway.Core.Inbound;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.Listener;

/// <summary>Bounce processing on the inbound listener, the same for the standalone host and the Container Apps host.</summary>
public static class InboundBounceHostingExtensions
{
    /// <summary>
    /// With <c>MailGateway:Bounces:Domain</c> (<see cref="BounceOptions"/>, bound and validated at start here unless the
    /// delivery registration did it already): the listener also accepts the bounce domain, and the
    /// <see cref="IInboundMessageStore"/> registered so far is wrapped in a <see cref="BounceProcessingInboundStore"/>,
    /// which stores every message first and then hands what it stored for that domain to the
    /// <see cref="BounceProcessor"/>. The host registers the <see cref="IBounceRecorder"/> (SQLite or Table storage).
    /// Call it after <c>AddInboundListener</c>; without a bounce domain at run time the store stays as it was.
    /// </summary>
    public static IHostApplicationBuilder AddInboundBounceProcessing(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (!services.Any(d => d.ServiceType == typeof(BounceAddresses)))
        {
            services.AddOptions<BounceOptions>()
                .BindConfiguration(BounceOptions.SectionName)
                .ValidateDataAnnotations()
                .ValidateOnStart();
            services.TryAddSingleton<BounceAddresses>();
        }

        services.TryAddSingleton<BounceProcessor>();
        services.AddOptions<InboundListenerOptions>().Configure<IOptions<BounceOptions>>((inbound, bounces) =>
        {
            if (bounces.Value.Enabled && !inbound.AcceptAllRecipients
                && !inbound.Domains.Contains(bounces.Value.Domain!.Trim(), StringComparer.OrdinalIgnoreCase))
            {
                inbound.Domains.Add(bounces.Value.Domain!.Trim());
            }
        });

        var store = services.Last(d => d.ServiceType == typeof(IInboundMessageStore));
        services.Remove(store);
        services.AddSingleton(new WrappedInboundStore(store));
        services.AddSingleton<IInboundMessageStore>(sp =>
        {
            var inner = store.ImplementationFactory is { } factory ? (IInboundMessageStore)factory(sp)
                : store.ImplementationInstance is IInboundMessageStore instance ? instance
                : (IInboundMessageStore)ActivatorUtilities.CreateInstance(sp, store.ImplementationType!);
            return sp.GetRequiredService<IOptions<BounceOptions>>().Value.Enabled
                ? new BounceProcessingInboundStore(inner, sp.GetRequiredService<BounceProcessor>())
                : inner;
        });
        return builder;
    }
}
