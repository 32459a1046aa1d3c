using System.Globalization;
using MailGateway.Api;
using MailGateway.AzureAdapters;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.AzureAdapters.Status;
using MailGateway.Core.Events;
using MailGateway.Core.Keys;
using MailGateway.Core.Status;
using MailGateway.ServiceDefaults;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace MailGateway.Dashboard.Azure;

/// <summary>
/// The composition of the Azure dashboard app: the API's keys and rate limits (the same <c>MailGateway:Api</c> keys as
/// the Functions API: sign-in is always required here), the Table status store and its events, the Blob content store,
/// the Service Bus dead-letter store and queue numbers, and what Azure cannot give the pages (<see cref="AzureOperationsOverview"/>,
/// no stored mail to browse).
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
        builder.AddServiceBusQueueMetrics();
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
/// The queue page's data on Azure. The queue's numbers from Service Bus (<see cref="IServiceBusQueueMetrics"/>): the
/// runtime counts (jobs = active + scheduled, due now = active, waiting = scheduled, dead letters), and from a peek of at
/// most <see cref="ServiceBusQueueOptions.QueuePeekLimit"/> messages the due times and the oldest active job; in flight
/// is not known (Service Bus counts a locked message as active). A refused (no Manage right) or failed read leaves the
/// numbers out with the reason, never the page. The outcome and latency charts from the event feed
/// (<c>TableEventFeed</c>, every key's events of the window, oldest first, at most <see cref="MaxEvents"/>); the latency
/// of a message accepted before the window is not known (its <c>accepted</c> event is not read). No counts by state:
/// the Table status store has no index by state.
/// </summary>
internal sealed partial class AzureOperationsOverview(
    IMessageEventStore events,
    IServiceBusQueueMetrics queue,
    IOptions<ServiceBusQueueOptions> options,
    TimeProvider time,
    ILogger<AzureOperationsOverview> logger) : IOperationsOverview
{
    /// <summary>What the page says when Service Bus refuses the counts.</summary>
    public const string RefusedReason =
        "The queue's numbers are missing: Service Bus refused to give the queue's counts to this app's identity (401 Unauthorized: " +
        "the runtime counts need the Manage right). Grant the dashboard's identity the \"Azure Service Bus Data Owner\" role on the queue " +
        "(infra/modules/servicebus.bicep does, as dashboardOwner). The charts below come from the event feed.";

    /// <summary>How long a read of the queue's numbers may take before the page goes without them.</summary>
    public static readonly TimeSpan QueueReadTimeout = TimeSpan.FromSeconds(10);

    private static readonly string[] Types = [MessageEventTypes.Accepted, MessageEventTypes.Delivered, MessageEventTypes.Deferred, MessageEventTypes.Failed, MessageEventTypes.Expired];

    /// <inheritdoc />
    public int MaxEvents => 20_000;

    /// <inheritdoc />
    public string? Unavailable =>
        "Messages by status are not available on the Azure deployment: the Table status store keeps no index by state. " +
        "In flight is not known there: Service Bus counts a job being delivered (locked) as active, so it is in \"due now\". " +
        string.Create(CultureInfo.InvariantCulture, $"The next attempts and the oldest job come from a peek of at most {options.Value.QueuePeekLimit:N0} jobs per view. ") +
        "The charts come from the event feed; a message accepted before the window has no latency in them. Dead letters are listed under Dead letters.";

    /// <inheritdoc />
    public async Task<QueueOverviewResult> QueueAsync(CancellationToken cancellationToken)
    {
        ServiceBusQueueMetricsSnapshot snapshot;
        using var timeout = new CancellationTokenSource(QueueReadTimeout, time);
        using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            snapshot = await queue.ReadAsync(options.Value.QueuePeekLimit, read.Token);
        }
        catch (UnauthorizedAccessException ex)
        {
            LogQueueRefused(ex.Message);
            return QueueOverviewResult.Missing(RefusedReason);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Whatever went wrong (the namespace unreachable, throttled, slow): the page goes on without the numbers.
            LogQueueFailed(ex);
            return QueueOverviewResult.Missing(timeout.IsCancellationRequested
                ? string.Create(CultureInfo.InvariantCulture, $"The queue's numbers are missing: Service Bus did not answer within {QueueReadTimeout.TotalSeconds:0} seconds. Reload the page to try again.")
                : $"The queue's numbers are missing: reading them from Service Bus failed ({ex.GetType().Name}; the app's log has the details). Reload the page to try again.");
        }

        var now = time.GetUtcNow();
        var dueIn = new long[OperationsOverviewBuckets.Due.Count];
        foreach (var at in snapshot.ScheduledDueAt)
        {
            dueIn[OperationsOverviewBuckets.Slot(OperationsOverviewBuckets.Due, at - now)]++;
        }

        return QueueOverviewResult.Of(new QueueOverview(
            Jobs: snapshot.Active + snapshot.Scheduled,
            Ready: snapshot.Active,
            InFlight: null,
            Waiting: snapshot.Scheduled,
            OldestEnqueuedAt: snapshot.OldestActiveEnqueuedAt,
            DeadLetters: snapshot.DeadLetters,
            DueIn: dueIn,
            Examined: snapshot.Truncated ? snapshot.Peeked : null));
    }

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

            if (page.Count < 1000)
            {
                break;
            }

            after = page[^1].Id;
        }

        return history.Build(read);
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, long>?> StatesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyDictionary<string, long>?>(null);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service Bus refused the queue's runtime counts (grant Azure Service Bus Data Owner on the queue): {Reason}")]
    private partial void LogQueueRefused(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the queue's numbers from Service Bus failed; the queue page shows none")]
    private partial void LogQueueFailed(Exception exception);
}
