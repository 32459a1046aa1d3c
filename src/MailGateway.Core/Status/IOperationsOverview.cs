namespace MailGateway.Core.Status;

/// <summary>The queue as the dashboard shows it: how many jobs, how old, how many leased, when the waiting ones are due.</summary>
/// <param name="Jobs">Every job in the queue.</param>
/// <param name="Ready">Due now and not leased (on a queue that cannot tell leased jobs apart, due now, leased or not).</param>
/// <param name="InFlight">Leased by a worker (being delivered); null when the queue does not say (Service Bus counts a locked message as active).</param>
/// <param name="Waiting">Not due yet (scheduled, or deferred to a later attempt).</param>
/// <param name="OldestEnqueuedAt">When the oldest job was enqueued, or null for an empty queue.</param>
/// <param name="DeadLetters">Dead letters kept.</param>
/// <param name="DueIn">The waiting jobs by when they are due, in <see cref="OperationsOverviewBuckets.Due"/> order.</param>
/// <param name="Examined">
/// How many jobs <paramref name="DueIn"/> and <paramref name="OldestEnqueuedAt"/> were read from when that is not all
/// of them (a bounded browse of the queue); null when every job was.
/// </param>
public sealed record QueueOverview(
    long Jobs, long Ready, long? InFlight, long Waiting, DateTimeOffset? OldestEnqueuedAt, long DeadLetters, IReadOnlyList<long> DueIn, long? Examined = null);

/// <summary>The queue part of the dashboard's queue page: the numbers, or why there are none.</summary>
/// <param name="Queue">The queue now; null when it cannot be shown.</param>
/// <param name="Reason">Why <paramref name="Queue"/> is null, in words for the page; null when it is shown (or the host has nothing to add to <see cref="IOperationsOverview.Unavailable"/>).</param>
public sealed record QueueOverviewResult(QueueOverview? Queue, string? Reason)
{
    /// <summary>The numbers.</summary>
    public static QueueOverviewResult Of(QueueOverview queue) => new(queue, null);

    /// <summary>No numbers, for <paramref name="reason"/>.</summary>
    public static QueueOverviewResult Missing(string reason) => new(null, reason);
}

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

    /// <summary>
    /// The index in <paramref name="bounds"/> (<see cref="Due"/> or <see cref="Latency"/>) of the bucket of
    /// <paramref name="value"/>: the first whose upper bound is above it, else the last (a value below the first bound,
    /// a job already due for instance, counts in the first).
    /// </summary>
    public static int Slot(IReadOnlyList<TimeSpan> bounds, TimeSpan value)
    {
        ArgumentNullException.ThrowIfNull(bounds);
        var slot = 0;
        while (slot < bounds.Count - 1 && value >= bounds[slot])
        {
            slot++;
        }

        return slot;
    }
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

    /// <summary>The queue now, or why it cannot be shown (a host that never can answers no queue and no reason).</summary>
    Task<QueueOverviewResult> QueueAsync(CancellationToken cancellationToken);

    /// <summary>Outcomes over <paramref name="window"/> in <paramref name="bucketCount"/> buckets; null when not available.</summary>
    Task<OutcomeHistory?> OutcomesAsync(TimeSpan window, int bucketCount, CancellationToken cancellationToken);

    /// <summary>Messages per state (the state's name); null when not available.</summary>
    Task<IReadOnlyDictionary<string, long>?> StatesAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Counts outcome events into the buckets of an <see cref="OutcomeHistory"/> (the same for every host): message-level
/// <c>delivered</c>, <c>deferred</c>, <c>failed</c> and <c>expired</c> events (the last two count as failed), and the
/// accept-to-delivery latency of a delivered message when it is known.
/// </summary>
public sealed class OutcomeHistoryBuilder
{
    private readonly DateTimeOffset _start;
    private readonly long _width;
    private readonly (int Delivered, int Deferred, int Failed)[] _buckets;
    private readonly int[] _latencies = new int[OperationsOverviewBuckets.Latency.Count];

    /// <summary>Buckets <paramref name="window"/> up to <paramref name="end"/> into <paramref name="bucketCount"/> equal parts.</summary>
    public OutcomeHistoryBuilder(DateTimeOffset end, TimeSpan window, int bucketCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketCount, 1);
        _start = end - window;
        _width = Math.Max(1, window.Ticks / bucketCount);
        _buckets = new (int, int, int)[bucketCount];
    }

    /// <summary>The start of the window.</summary>
    public DateTimeOffset Start => _start;

    /// <summary>Counts one message-level event of <paramref name="type"/> at <paramref name="at"/>; other types are ignored.</summary>
    public void Add(string type, DateTimeOffset at, TimeSpan? latency = null)
    {
        var index = (int)Math.Clamp((at - _start).Ticks / _width, 0, _buckets.Length - 1);
        switch (type)
        {
            case "delivered":
                _buckets[index].Delivered++;
                if (latency is { } value)
                {
                    _latencies[OperationsOverviewBuckets.Slot(OperationsOverviewBuckets.Latency, value)]++;
                }

                break;
            case "deferred":
                _buckets[index].Deferred++;
                break;
            case "failed" or "expired":
                _buckets[index].Failed++;
                break;
        }
    }

    /// <summary>The history, with <paramref name="eventsRead"/> as the number of events read.</summary>
    public OutcomeHistory Build(int eventsRead) => new(
        [.. _buckets.Select((b, i) => new OutcomeBucket(_start + TimeSpan.FromTicks(_width * i), b.Delivered, b.Deferred, b.Failed))],
        _latencies, eventsRead);
}
