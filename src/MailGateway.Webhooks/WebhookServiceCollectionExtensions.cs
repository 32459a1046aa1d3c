using MailGateway.Core.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Polly;

namespace MailGateway.Webhooks;

/// <summary>Registration of webhook delivery, the same in every host that dispatches (the standalone host, the Azure delivery worker).</summary>
public static class WebhookServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="WebhookOptions"/> (from <c>MailGateway:Webhooks</c>, validated at start), the
    /// <see cref="WebhookSender"/> and its <see cref="HttpClient"/> — no redirects, no proxy, no cookies, the address
    /// policy on every connection, the timeout as the resilience pipeline — and the <see cref="WebhookDispatcher"/>. The
    /// host registers the event log (<c>IMessageEventStore</c>), the <see cref="IWebhookStateStore"/> and the
    /// <see cref="IWebhookRegistry"/>.
    /// </summary>
    public static IServiceCollection AddWebhookDelivery(this IServiceCollection services)
    {
        services.AddWebhookOptions();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WebhookSender>();
        services.AddHttpClient(WebhookSender.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var options = sp.GetRequiredService<IOptions<WebhookOptions>>().Value;
                return new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    UseProxy = false,
                    UseCookies = false,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                    ConnectCallback = (context, cancellationToken) => WebhookSender.ConnectAsync(context, options, cancellationToken),
                };
            })
            .AddResilienceHandler("webhook", (pipeline, context) =>
                pipeline.AddTimeout(context.ServiceProvider.GetRequiredService<IOptions<WebhookOptions>>().Value.Timeout));
        services.AddHostedService<WebhookDispatcher>();
        return services;
    }
}
