using MailGateway.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="MailGatewayClient"/> with IHttpClientFactory and the retry pipeline.</summary>
public static class MailGatewayClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="MailGatewayClient"/> (singleton) over a named <see cref="HttpClient"/>
    /// (<see cref="MailGatewayClient.HttpClientName"/>) with a resilience handler: retries for 408/429/502/503/504,
    /// network errors and attempt timeouts, honouring <c>Retry-After</c>. Options are validated at start.
    /// </summary>
    /// <returns>The HTTP client's builder, to add handlers of your own.</returns>
    public static IHttpClientBuilder AddMailGatewayClient(this IServiceCollection services, Action<MailGatewayClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<MailGatewayClientOptions>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>
    /// Registers <see cref="MailGatewayClient"/> with options bound from a configuration section, e.g.
    /// <c>builder.Configuration.GetSection("MailGateway")</c> holding <c>BaseAddress</c>, <c>ApiKey</c> and optionally
    /// <c>MaxRetries</c>, <c>RetryDelay</c>, <c>MaxRetryDelay</c>, <c>AttemptTimeout</c>.
    /// </summary>
    /// <returns>The HTTP client's builder, to add handlers of your own.</returns>
    public static IHttpClientBuilder AddMailGatewayClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<MailGatewayClientOptions>().Bind(configuration);
        return AddCore(services);
    }

    private static IHttpClientBuilder AddCore(IServiceCollection services)
    {
        services.AddOptions<MailGatewayClientOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MailGatewayClientOptions>, MailGatewayClientOptionsValidator>());
        services.TryAddSingleton(sp => new MailGatewayClient(sp.GetRequiredService<IHttpClientFactory>(), sp.GetRequiredService<IOptionsMonitor<MailGatewayClientOptions>>()));

        // The attempt timeout lives in the pipeline; HttpClient's own 100 s would cut the retries short.
        var builder = services.AddHttpClient(MailGatewayClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        builder.AddResilienceHandler(MailGatewayResilience.PipelineName, (pipeline, context) =>
        {
            context.EnableReloads<MailGatewayClientOptions>();
            MailGatewayResilience.Configure(pipeline, context.GetOptions<MailGatewayClientOptions>());
        });
        return builder;
    }
}
