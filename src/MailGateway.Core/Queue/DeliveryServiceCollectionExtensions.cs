using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MailGateway.Core.Queue;

/// <summary>Registration of the host-agnostic delivery worker.</summary>
public static class DeliveryServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DeliveryJobHandler"/> as <see cref="IDeliveryJobHandler"/> with
    /// <see cref="DeliveryRetryOptions"/> bound to <c>MailGateway:Delivery</c> and validated at start. The host also
    /// registers an <see cref="Delivery.IDeliveryEngine"/>, the content and status stores, and a queue pump.
    /// </summary>
    public static IServiceCollection AddDeliveryJobHandler(this IServiceCollection services)
    {
        services.AddOptions<DeliveryRetryOptions>()
            .BindConfiguration(DeliveryRetryOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IDeliveryJobHandler, DeliveryJobHandler>();
        return services;
    }
}
