using MailGateway.Client.AspNetCore;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.UI.Services;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the ASP.NET Core Identity email sender over the gateway.</summary>
public static class MailGatewayAspNetCoreServiceCollectionExtensions
{
    /// <summary>
    /// Makes ASP.NET Core Identity send its mail through MailGateway: registers <see cref="IEmailSender{TUser}"/>
    /// (confirmation and password-reset mail of <c>MapIdentityApi</c> and Identity's managers) and the older
    /// <see cref="IEmailSender"/>, replacing Identity's no-op defaults whichever is registered first. Needs
    /// <c>AddMailGatewayClient(…)</c>.
    /// </summary>
    public static IServiceCollection AddMailGatewayEmailSender(this IServiceCollection services, Action<MailGatewayEmailSenderOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<MailGatewayEmailSenderOptions>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>The same, with options bound from a configuration section (<c>From</c>, <c>FromName</c>, subjects).</summary>
    public static IServiceCollection AddMailGatewayEmailSender(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<MailGatewayEmailSenderOptions>().Bind(configuration);
        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddOptions<MailGatewayEmailSenderOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MailGatewayEmailSenderOptions>, MailGatewayEmailSenderOptionsValidator>());
        services.RemoveAll(typeof(IEmailSender<>));
        services.RemoveAll<IEmailSender>();
        services.AddTransient(typeof(IEmailSender<>), typeof(MailGatewayEmailSender<>));
        services.AddTransient<IEmailSender, MailGatewayEmailSender>();
        return services;
    }
}
