using MailGateway.Api;
using MailGateway.AzureAdapters;
using MailGateway.Core.Keys;
using MailGateway.Core.Status;
using MailGateway.ServiceDefaults;
using Microsoft.AspNetCore.HttpOverrides;

namespace MailGateway.Dashboard.Azure;

/// <summary>
/// The composition of the Azure dashboard app: the API's keys and rate limits (the same <c>MailGateway:Api</c> keys as
/// the Functions API: sign-in is always required here), the Table status store and its events, the Blob content store,
/// the Service Bus dead-letter store, and what Azure cannot give the pages (<see cref="AzureOperationsOverview"/>, no
/// stored mail to browse).
/// </summary>
public static class AzureDashboardHostingExtensions
{
    /// <summary>What the captured / inbound mail page says on Azure.</summary>
    public const string NoMailReason =
        "The Azure deployment has no capture mode, and the inbound listener's messages (Blob storage) are not browsed by this dashboard: " +
        "read them from the storage account (container of MailGateway:Inbound:Blob).";

    /// <summary>Registers everything the dashboard reads on Azure.</summary>
    public static IHostApplicationBuilder AddAzureDashboard(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddAzureServiceDefaults();
        // Behind the Container Apps ingress: the client address for the sign-in limits is the one the front end
        // appends to X-Forwarded-For (as on the Functions host). Before AddMailGatewayApi, so MailGateway:RateLimits still overrides it.
        builder.Services.AddOptions<RateLimitOptions>().Configure(limits => limits.TrustForwardedFor = true);
        builder.Services.Configure<ForwardedHeadersOptions>(o => o.ForwardedHeaders = ForwardedHeaders.XForwardedProto);
        builder.Services.AddMailGatewayApi();
        builder.AddAzureMessageStores();
        builder.AddServiceBusDeliveryQueue();
        builder.AddServiceBusDeadLetters();
        builder.Services.AddSingleton<IOperationsOverview, AzureOperationsOverview>();
        builder.Services.AddSingleton<IDashboardMail>(new NoDashboardMail("Inbound mail", NoMailReason));
        // Never the loopback development shortcut: every request signs in with a key.
        builder.Services.AddSingleton(new DashboardHostInfo(DevelopmentKeyOnly: false));
        builder.AddDashboard();
        return builder;
    }

    /// <summary>Maps the dashboard at <c>/ui</c> (and <c>/</c> to it) with the health endpoints.</summary>
    public static WebApplication MapAzureDashboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseForwardedHeaders();
        app.MapServiceDefaults();
        app.MapGet("/", () => Results.Redirect("/ui/messages")).ExcludeFromDescription();
        app.MapDashboard();
        return app;
    }
}

/// <summary>
/// The queue page's data on Azure: none of it. Service Bus gives the queue's counts only through its management API
/// (a role this app does not have), the Table status store has no index to count messages by state, and the event rows
/// are per message (no feed to chart), so the page says so instead of guessing.
/// </summary>
internal sealed class AzureOperationsOverview : IOperationsOverview
{
    /// <inheritdoc />
    public int MaxEvents => 0;

    /// <inheritdoc />
    public string? Unavailable =>
        "Not available on the Azure deployment: the Service Bus queue's depth and age are in the Azure portal (namespace → queue → metrics), " +
        "and the Table status store keeps no counts by status and no event feed for the charts. Dead letters are listed under Dead letters.";

    /// <inheritdoc />
    public Task<QueueOverview?> QueueAsync(CancellationToken cancellationToken) => Task.FromResult<QueueOverview?>(null);

    /// <inheritdoc />
    public Task<OutcomeHistory?> OutcomesAsync(TimeSpan window, int bucketCount, CancellationToken cancellationToken) => Task.FromResult<OutcomeHistory?>(null);

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, long>?> StatesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyDictionary<string, long>?>(null);
}
