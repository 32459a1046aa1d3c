using MailGateway.Api;
using MailGateway.AzureAdapters;
using MailGateway.AzureAdapters.Status;
using MailGateway.Core.Events;
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
/// The queue page's data on Azure: the outcome and latency charts from the event feed (<c>TableEventFeed</c>, every
/// key's events of the window, oldest first, at most <see cref="MaxEvents"/>); the latency of a message accepted
/// before the window is not known (its <c>accepted</c> event is not read). The queue's numbers are not shown: Service
/// Bus gives them only through its management API (a role this app does not have), and the Table status store has no
/// index to count messages by state.
/// </summary>
internal sealed class AzureOperationsOverview(IMessageEventStore events, TimeProvider time) : IOperationsOverview
{
    private static readonly string[] Types = [MessageEventTypes.Accepted, MessageEventTypes.Delivered, MessageEventTypes.Deferred, MessageEventTypes.Failed, MessageEventTypes.Expired];

    /// <inheritdoc />
    public int MaxEvents => 20_000;

    /// <inheritdoc />
    public string? Unavailable =>
        "The queue's numbers are not available on the Azure deployment: the Service Bus queue's depth and age are in the Azure portal " +
        "(namespace → queue → metrics), and the Table status store keeps no counts by status. The charts come from the event feed; " +
        "a message accepted before the window has no latency in them. Dead letters are listed under Dead letters.";

    /// <inheritdoc />
    public Task<QueueOverview?> QueueAsync(CancellationToken cancellationToken) => Task.FromResult<QueueOverview?>(null);

    /// <inheritdoc />
    public async Task<OutcomeHistory?> OutcomesAsync(TimeSpan window, int bucketCount, CancellationToken cancellationToken)
    {
        var history = new OutcomeHistoryBuilder(time.GetUtcNow(), window, bucketCount);
        var accepted = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var read = 0;
        string? after = TableMessageEventStore.FeedCursorAt(history.Start);
        while (read < MaxEvents)
        {
            var page = await events.ReadAsync(new MessageEventQuery(null, 0, Math.Min(1000, MaxEvents - read), null, Types, after), cancellationToken);
            foreach (var e in page)
            {
                read++;
                if (e.Recipient is not null)
                {
                    continue; // the message's own events only, as on the standalone host
                }

                if (e.Type == MessageEventTypes.Accepted)
                {
                    accepted[e.MessageId] = e.Time;
                    continue;
                }

                history.Add(e.Type, e.Time, e.Type == MessageEventTypes.Delivered && accepted.TryGetValue(e.MessageId, out var at) ? e.Time - at : null);
            }

            if (page.Count == 0 || page.Count < 1000)
            {
                break;
            }

            after = page[^1].Id;
        }

        return history.Build(read);
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, long>?> StatesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyDictionary<string, long>?>(null);
}
