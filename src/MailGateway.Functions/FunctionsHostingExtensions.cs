using MailGateway.Api;
using MailGateway.AzureAdapters;
using MailGateway.ServiceDefaults.Health;
using MailGateway.Core;
using MailGateway.Core.Keys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MailGateway.Functions;

/// <summary>Composition of the Functions API host: the shared API logic on the Azure adapters.</summary>
public static class FunctionsHostingExtensions
{
    /// <summary>
    /// The host defaults (health: <c>queue</c>, <c>statusStore</c>, <c>contentStore</c>; telemetry, Azure Monitor), the
    /// API (<c>MailGateway:Api</c>, rate limits <c>MailGateway:RateLimits</c> with the client address from
    /// <c>X-Forwarded-For</c>), the Blob and Table stores and the Service Bus queue, validated at start, the
    /// claim-check accept port over them, the dead letters on the queue's dead-letter sub-queue, the suppression list and
    /// the webhook endpoints in Table storage; DKIM keys
    /// (<c>MailGateway:Dkim</c>) from Key Vault or PEM files.
    /// </summary>
    public static IHostApplicationBuilder AddMailGatewayFunctions(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddAzureServiceDefaults().AddMessagePortChecks();
        // Behind the Functions host every request comes from the host: the client's address is the one App Service's
        // front end appends to X-Forwarded-For. Before AddMailGatewayApi, so MailGateway:RateLimits still overrides it.
        builder.Services.AddOptions<RateLimitOptions>().Configure(limits => limits.TrustForwardedFor = true);
        builder.Services.AddMailGatewayApi();
        // One message's events (GET /api/v1/messages/{id}/events) from the Table event rows, the feed from the event feed table.
        builder.Services.AddMailGatewayEventsApi();
        builder.AddAzureMessageStores();
        builder.AddServiceBusDeliveryQueue();
        builder.Services.AddClaimCheckAcceptor();
        // The API signs at accept: DKIM keys from Key Vault (or PEM files), read at start and re-read periodically.
        builder.AddKeyVaultDkimKeys();

        // The dead-letter routes on the Service Bus dead-letter sub-queue (list, read, replay, purge).
        builder.AddServiceBusDeadLetters();

        // The suppression routes on the Table list (the worker asks the same list before contacting the relay).
        builder.AddAzureSuppressionList();
        builder.Services.AddMailGatewaySuppressionsApi();

        // The webhook routes on the Table store; the delivery worker's dispatcher sends from the event feed.
        builder.AddAzureWebhookStore();
        builder.Services.AddMailGatewayWebhooksApi();
        return builder;
    }
}
