using MailGateway.AzureAdapters;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.ServiceDefaults.Health;
using Microsoft.Extensions.Options;

namespace MailGateway.Delivery;

/// <summary>Composition of the delivery worker host.</summary>
public static class DeliveryWorkerHostingExtensions
{
    /// <summary>
    /// The host defaults (health: <c>queue</c>, <c>statusStore</c>, <c>contentStore</c>, <c>processor</c>; telemetry),
    /// Blob and Table stores, the Service Bus processor, the SMTP engine, the host-agnostic job handler and the
    /// worker; the host's shutdown timeout is the drain timeout, so in-flight deliveries finish before the process exits.
    /// </summary>
    public static IHostApplicationBuilder AddDeliveryWorker(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddAzureServiceDefaults()
            .AddMessagePortChecks()
            .AddReadinessCheck<ProcessorHealthCheck>("processor");
        builder.AddAzureMessageStores();
        builder.AddServiceBusDeliveryProcessor();
        builder.Services.AddSmtpDelivery();
        builder.Services.AddDeliveryJobHandler();
        builder.Services.AddOptions<DeliveryDrainOptions>()
            .BindConfiguration(DeliveryDrainOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<HostOptions>()
            .Configure<IOptions<DeliveryDrainOptions>>((host, drain) => host.ShutdownTimeout = drain.Value.DrainTimeout);
        builder.Services.AddSingleton<ServiceBusDeliveryWorker>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ServiceBusDeliveryWorker>());
        return builder;
    }
}
