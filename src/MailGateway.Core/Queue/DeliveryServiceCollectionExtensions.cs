using MailGateway.Core.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Queue;

/// <summary>Registration of the host-agnostic delivery worker.</summary>
public static class DeliveryServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DeliveryJobHandler"/> as <see cref="IDeliveryJobHandler"/> with
    /// <see cref="DeliveryRetryOptions"/> (<c>MailGateway:Delivery</c>) and <see cref="DeliveryWorkerOptions"/>
    /// (<c>MailGateway:DeliveryWorker</c>), both validated at start, and <see cref="StoreDeliveryRecorder"/> unless the
    /// host registered its store's own <see cref="IDeliveryRecorder"/> first; a renamed setting still in use stops the host with
    /// its new name. The host also registers an <see cref="Delivery.IDeliveryEngine"/>, the content and status stores,
    /// and a queue pump.
    /// </summary>
    public static IServiceCollection AddDeliveryJobHandler(this IServiceCollection services)
    {
        services.AddOptions<DeliveryRetryOptions>()
            .BindConfiguration(DeliveryRetryOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<DeliveryWorkerOptions>()
            .BindConfiguration(DeliveryWorkerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeliveryWorkerOptions>, RenamedSettings.DeliveryValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IDeliveryRecorder, StoreDeliveryRecorder>();
        services.AddOptions<Bounces.BounceOptions>()
            .BindConfiguration(Bounces.BounceOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<Bounces.BounceAddresses>();
        services.TryAddSingleton<Suppressions.ISuppressionList, Suppressions.NoSuppressionList>();
        services.TryAddSingleton<IDeliveryJobHandler, DeliveryJobHandler>();
        return services;
    }
}
