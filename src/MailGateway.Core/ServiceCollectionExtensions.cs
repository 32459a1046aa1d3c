using MailGateway.Core.Delivery;
using MailGateway.Core.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MailGateway.Core;

/// <summary>Registration of the Core services; every host calls these.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Message validation and composition, with <see cref="MessageLimitsOptions"/> bound to
    /// <c>MailGateway:Messages</c> and validated at start.
    /// </summary>
    public static IServiceCollection AddMessageComposition(this IServiceCollection services)
    {
        services.AddOptions<MessageLimitsOptions>()
            .BindConfiguration(MessageLimitsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<MessageValidator>();
        services.TryAddSingleton<MessageComposer>();
        return services;
    }

    /// <summary>
    /// The SMTP delivery engine, with <see cref="SmtpRelayOptions"/> bound to <c>MailGateway:Relay</c> and validated at
    /// start (a bad setting stops the host with its name).
    /// </summary>
    public static IServiceCollection AddSmtpDelivery(this IServiceCollection services)
    {
        services.AddOptions<SmtpRelayOptions>()
            .BindConfiguration(SmtpRelayOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SmtpDeliveryEngine>();
        services.TryAddSingleton<IDeliveryEngine>(sp => sp.GetRequiredService<SmtpDeliveryEngine>());
        return services;
    }
}
