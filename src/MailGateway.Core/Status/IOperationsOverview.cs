namespace MailGateway.Core.Status;

/// <summary>The queue as the dashboard shows it: how many jobs, how old, how many leased, when the waiting ones are due.</summary>
/// <param name="Jobs">Every job in the queue.</param>
/// <param name="Ready">Due now and not leased.</param>
/// <param name="InFlight">Leased by a worker (being delivered).</param>
/// <param name="Waiting">Not due yet (scheduled, or deferred to a later attempt).</param>
/// <param name="OldestEnqueuedAt">When the oldest job was enqueued, or null for an empty queue.</param>
/// <param name="DeadLetters">Dead letters kept.</param>
/// <param name="DueIn">The waiting jobs by when they are due, in <see cref="OperationsOverviewBuckets.Due"/> order.</param>
public sealed record QueueOverview(long Jobs, long Ready, long InFlight, long Waiting, DateTimeOffset? OldestEnqueuedAt, long DeadLetters, IReadOnlyList<long> DueIn);

/// <summary>Outcomes in one time bucket of the chart.</summary>
public sealed record OutcomeBucket(DateTimeOffset Start, int Delivered, int Deferred, int Failed);

/// <summary>The outcome and latency charts' data.</summary>
/// <param name="Buckets">Outcomes per bucket, oldest first.</param>
/// <param name="Latencies">Accept-to-delivered latencies of the delivered messages in the window, in the <see cref="OperationsOverviewBuckets.Latency"/> histogram.</param>
/// <param name="EventsRead">How many events were read (the window is also bounded by count).</param>
public sealed record OutcomeHistory(IReadOnlyList<OutcomeBucket> Buckets, IReadOnlyList<int> Latencies, int EventsRead);

/// <summary>The buckets of the dashboard's queue table and latency chart.</summary>
public static class OperationsOverviewBuckets
{
    /// <summary>The upper bounds of the due-in buckets (the last one is "later").</summary>
    public static readonly IReadOnlyList<TimeSpan> Due =
        [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromHours(1), TimeSpan.FromHours(4), TimeSpan.MaxValue];

    /// <summary>The upper bounds of the latency histogram (the last one is "slower").</summary>
    public static readonly IReadOnlyList<TimeSpan> Latency =
        [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), TimeSpan.FromHours(1), TimeSpan.MaxValue];
}

/// <summary>
/// Read-only summaries of a host's queue and recent outcomes for the dashboard's queue page. A host whose stores cannot
/// give one of them cheaply answers null for it and says why in <see cref="Unavailable"/>; the page shows that text.
/// </summary>
public interface IOperationsOverview
{
    /// <summary>The most events <see cref="OutcomesAsync"/> reads.</summary>
    int MaxEvents { get; }

    /// <summary>What this host cannot show (null: everything), in words for the page.</summary>
    string? Unavailable { get; }

    /// <summary>The queue now; null when this host cannot summarize its queue.</summary>
    Task<QueueOverview?> QueueAsync(CancellationToken cancellationToken);

    /// <summary>Outcomes over <paramref name="window"/> in <paramref name="bucketCount"/> buckets; null when not available.</summary>
    Task<OutcomeHistory?> OutcomesAsync(TimeSpan window, int bucketCount, CancellationToken cancellationToken);

    /// <summary>Messages per state (the state's name); null when not available.</summary>
    Task<IReadOnlyDictionary<string, long>?> StatesAsync(CancellationToken cancellationToken);
}
