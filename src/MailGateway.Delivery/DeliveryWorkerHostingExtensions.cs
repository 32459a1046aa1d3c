using MailGateway.AzureAdapters;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.ServiceDefaults.Health;
using MailGateway.Webhooks;
using Microsoft.Extensions.Options;

namespace MailGateway.Delivery;

/// <summary>Composition of the delivery worker host.</summary>
public static class DeliveryWorkerHostingExtensions
{
    /// <summary>
    /// The host defaults (health: <c>queue</c>, <c>statusStore</c>, <c>contentStore</c>, <c>processor</c>; telemetry),
    /// Blob and Table stores, the Table suppression list, the Service Bus processor, the SMTP engine, the host-agnostic job handler, the
    /// worker and the webhook dispatcher (endpoints in Table storage, a Blob lease so one replica sends); the host's shutdown timeout is <c>MailGateway:DeliveryWorker:DrainTimeout</c>, so in-flight deliveries
    /// finish before the process exits.
    /// </summary>
    public static IHostApplicationBuilder AddDeliveryWorker(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddAzureServiceDefaults()
            .AddMessagePortChecks()
            .AddReadinessCheck<ProcessorHealthCheck>("processor");
        builder.AddAzureMessageStores();
        // Asked just before the relay; a 5.1.x at RCPT adds a hard_bounce entry.
        builder.AddAzureSuppressionList();
        builder.AddServiceBusDeliveryProcessor();
        builder.Services.AddSmtpDelivery();
        builder.Services.AddDeliveryJobHandler();
        builder.Services.AddOptions<HostOptions>()
            .Configure(host => host.ShutdownTimeout = DeliveryWorkerOptions.ReadDrainTimeout(builder.Configuration));
        // Webhooks: the dispatcher sends the event feed to the endpoints of the Table store, one replica at a time.
        builder.AddAzureWebhookStore();
        builder.AddAzureWebhookDispatchLease();
        builder.Services.AddWebhookDelivery();
        // The feed's retention, by the replica that holds the same lease.
        builder.AddAzureEventFeedJanitor();
        builder.Services.AddSingleton<ServiceBusDeliveryWorker>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ServiceBusDeliveryWorker>());
        return builder;
    }
}
