using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Core.Webhooks;

/// <summary>Registration of <see cref="WebhookOptions"/>, for the hosts of the webhook API and of the dispatcher.</summary>
public static class WebhookOptionsServiceCollectionExtensions
{
    /// <summary>Registers <see cref="WebhookOptions"/> from <c>MailGateway:Webhooks</c>, validated at start.</summary>
    public static IServiceCollection AddWebhookOptions(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>()
            .BindConfiguration(WebhookOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return services;
    }
}
