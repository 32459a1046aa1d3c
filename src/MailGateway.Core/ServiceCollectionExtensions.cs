using MailGateway.Core.Delivery;
using MailGateway.Core.Dkim;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Submissions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Core;

/// <summary>Registration of the Core services; every host calls these.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Message validation and composition, with <see cref="MessageLimitsOptions"/> bound to
    /// <c>MailGateway:Messages</c> and validated at start, and DKIM signing (<see cref="DkimMessageSigner"/>, keys in
    /// <see cref="DkimOptions"/> bound to <c>MailGateway:Dkim</c>, every key loaded and checked at start, from PEM files
    /// through <see cref="PemFileDkimKeySource"/> unless the host registered another <see cref="IDkimKeySource"/>).
    /// </summary>
    public static IServiceCollection AddMessageComposition(this IServiceCollection services)
    {
        // Once per container: binding an options class twice would append its lists (keys) twice.
        if (services.Any(d => d.ServiceType == typeof(MessageComposer)))
        {
            return services;
        }

        services.AddOptions<MessageLimitsOptions>()
            .BindConfiguration(MessageLimitsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<MessageValidator>();
        services.TryAddSingleton<MessageComposer>();
        services.AddOptions<DkimOptions>()
            .BindConfiguration(DkimOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DkimOptions>, DkimOptionsValidator>());
        // PEM files unless a host registered another source first (the Azure hosts: Key Vault too).
        services.TryAddSingleton(DkimKeyLocations.FilesOnly);
        services.TryAddSingleton<IDkimKeySource, PemFileDkimKeySource>();
        services.TryAddSingleton(sp => new DkimMessageSigner(
            sp.GetRequiredService<IDkimKeySource>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<DkimMessageSigner>>()));
        return services;
    }

    /// <summary>
    /// Accepting messages: <see cref="MessageSubmission"/> (validation and composition included),
    /// <see cref="MimeMessageSubmission"/> (an already-formed MIME message, for SMTP submission), the API keys
    /// (<see cref="ApiKeyVerifier"/>, <see cref="ApiKeysOptions"/> bound to <c>MailGateway:Api</c> and validated at
    /// start) and their rate limits (<see cref="KeyRateLimiter"/>, <see cref="RateLimitOptions"/> bound to
    /// <c>MailGateway:RateLimits</c>). The host registers the <see cref="IMessageAcceptor"/> of its stores.
    /// </summary>
    public static IServiceCollection AddMessageSubmission(this IServiceCollection services)
    {
        // Once per container (the HTTP API and SMTP submission both ask): see AddMessageComposition.
        if (services.Any(d => d.ServiceType == typeof(MessageSubmission)))
        {
            return services;
        }

        services.AddMessageComposition();
        services.AddOptions<ApiKeysOptions>()
            .BindConfiguration(ApiKeysOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<ApiKeyVerifier>();
        services.TryAddSingleton<MessageSubmission>();
        services.TryAddSingleton<MimeMessageSubmission>();
        services.AddOptions<RateLimitOptions>()
            .BindConfiguration(RateLimitOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<KeyRateLimiter>();
        return services;
    }

    /// <summary>
    /// <see cref="ClaimCheckMessageAcceptor"/> as the <see cref="IMessageAcceptor"/>, for stores that share no
    /// transaction; the host registers the content store, the status store and the queue.
    /// </summary>
    public static IServiceCollection AddClaimCheckAcceptor(this IServiceCollection services)
    {
        services.TryAddSingleton<IMessageAcceptor, ClaimCheckMessageAcceptor>();
        return services;
    }

    /// <summary>
    /// The SMTP delivery engine, with <see cref="SmtpRelayOptions"/> bound to <c>MailGateway:Relay</c> and validated at
    /// start (a bad setting stops the host with its name), and its <see cref="DeliveryMetrics"/> (the host provides the
    /// <see cref="System.Diagnostics.Metrics.IMeterFactory"/>).
    /// </summary>
    public static IServiceCollection AddSmtpDelivery(this IServiceCollection services)
    {
        services.AddOptions<SmtpRelayOptions>()
            .BindConfiguration(SmtpRelayOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DeliveryMetrics>();
        services.TryAddSingleton<SmtpDeliveryEngine>();
        services.TryAddSingleton<IDeliveryEngine>(sp => sp.GetRequiredService<SmtpDeliveryEngine>());
        return services;
    }
}
