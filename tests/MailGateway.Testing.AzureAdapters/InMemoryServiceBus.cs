using System.Transactions;
using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing.AzureAdapters;

/// <summary>
/// A small stand-in for a Service Bus queue with duplicate detection, scheduled messages, peek-lock, dead-letter
/// sub-queue and transactions (send + settle commit together or not at all), behind the adapter's own seams: it is
/// the <see cref="IServiceBusJobSender"/>, and it hands out <see cref="ProcessMessageEventArgs"/> built with the SDK's
/// public constructor and <see cref="ServiceBusModelFactory"/>. Received messages are opened by the adapter's own
/// <see cref="ServiceBusJobDispatcher.OpenAsync"/>, as the worker does. Its dead-letter sub-queue
/// (<see cref="DeadLetterQueue"/>) has its own sequence numbers, peek from a number, receive with an exclusive lock
/// (<see cref="LockDuration"/> on the fake clock), defer, receive deferred by number, abandon and complete. Its numbers
/// (<see cref="QueueMetrics"/>) are what Service Bus's runtime counts and a peek from the head would say.
/// </summary>
public sealed class InMemoryServiceBus : IServiceBusJobSender
{
    private readonly object _gate = new();
    private readonly List<Entry> _active = [];
    private readonly List<DeadEntry> _dead = [];
    private long _deadSequence;
    private readonly HashSet<string> _seenMessageIds = [];
    private readonly FakeTimeProvider _time;
    private readonly ServiceBusJobDispatcher _dispatcher;
    private long _sequence;

    /// <summary>Creates an empty queue on <paramref name="time"/>.</summary>
    public InMemoryServiceBus(FakeTimeProvider time)
    {
        _time = time;
        _dispatcher = new ServiceBusJobDispatcher(
            new DelegateHandler((_, _) => throw new InvalidOperationException("The in-memory bus only opens messages.")),
            this, NullLogger<ServiceBusJobDispatcher>.Instance, new TestMeterFactory(), time);
        DeadLetterQueue = new DeadLetterSubQueue(this);
        QueueMetrics = new Metrics(this);
    }

    /// <summary>The dead-lettered messages (as they sit in the sub-queue) with their reason and description, in order.</summary>
    public IReadOnlyList<(ServiceBusReceivedMessage Message, string Reason, string Description)> DeadLetters
    {
        get
        {
            lock (_gate)
            {
                return [.. _dead.Select(d => (d.Snapshot(null), d.Reason, d.Description))];
            }
        }
    }

    /// <summary>The dead-letter sub-queue behind the adapter's seam (with a sender to this queue).</summary>
    public IServiceBusDeadLetterQueue DeadLetterQueue { get; }

    /// <summary>The queue's counts and a peek from the head behind the adapter's seam, as Service Bus would give them.</summary>
    public IServiceBusQueueMetrics QueueMetrics { get; }

    /// <summary>When set, every read of <see cref="QueueMetrics"/> fails with it (e.g. the 401 of an identity without Manage).</summary>
    public Exception? QueueMetricsFailWith { get; set; }

    /// <summary>The lock duration of a message received from the dead-letter sub-queue.</summary>
    public TimeSpan LockDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Awaited by every complete of a dead letter before it takes effect (a test holds a replay there).</summary>
    public Func<Task>? BeforeDeadLetterComplete { get; set; }

    /// <summary>The messages waiting on the queue (visible or scheduled, locked or not), in order.</summary>
    public IReadOnlyList<ServiceBusMessage> Waiting
    {
        get
        {
            lock (_gate)
            {
                return [.. _active.OrderBy(e => e.Sequence).Select(e => e.Message)];
            }
        }
    }

    /// <summary>Dead-letters a raw message as Service Bus itself would (no gateway stamps), e.g. <c>MaxDeliveryCountExceeded</c>.</summary>
    public void AddDeadLetter(ServiceBusMessage message, string reason, string description)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_gate)
        {
            _dead.Add(new DeadEntry(this, message.Body, message.MessageId, message.CorrelationId, message.ContentType,
                new Dictionary<string, object>(message.ApplicationProperties), reason, description, ++_deadSequence, _time.GetUtcNow(), 1));
        }
    }

    /// <summary>When set, every send fails with it (the namespace is down).</summary>
    public Exception? FailWith { get; set; }

    /// <inheritdoc />
    public Task SendAsync(ServiceBusMessage message, CancellationToken cancellationToken)
    {
        if (FailWith is { } failure)
        {
            return Task.FromException(failure);
        }

        Transactional(() =>
        {
            lock (_gate)
            {
                // Duplicate detection: the same MessageId within the window is accepted and dropped.
                if (!_seenMessageIds.Add(message.MessageId))
                {
                    return;
                }

                var visible = message.ScheduledEnqueueTime == default ? _time.GetUtcNow() : message.ScheduledEnqueueTime;
                _active.Add(new Entry(message, visible, ++_sequence));
            }
        });
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    /// <summary>Forgets every queued message and the duplicate-detection history: a lost job, its window passed.</summary>
    public void Lose()
    {
        lock (_gate)
        {
            _active.Clear();
            _seenMessageIds.Clear();
        }
    }

    /// <summary>
    /// Peek-locks the next visible message and opens it the way the worker does; a message that is not a readable job
    /// is dead-lettered there and the next one is tried. Null when none is visible.
    /// </summary>
    public async Task<IDeliveryJobContext?> LeaseAsync(CancellationToken cancellationToken)
    {
        while (LockNext() is { } args)
        {
            var (context, _) = await _dispatcher.OpenAsync(args, cancellationToken);
            if (context is not null)
            {
                return context;
            }
        }

        return null;
    }

    /// <summary>
    /// Peek-locks the next visible message and hands it out as the processor would, unopened: for a caller that runs
    /// the worker's own <see cref="ServiceBusJobDispatcher.DispatchAsync"/> on it (the benchmark). Null when none is visible.
    /// </summary>
    public ProcessMessageEventArgs? Receive() => LockNext();

    private BrokerArgs? LockNext()
    {
        Entry? entry;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            entry = _active.Where(e => !e.Locked && e.VisibleAt <= now).OrderBy(e => e.VisibleAt).ThenBy(e => e.Sequence).FirstOrDefault();
            if (entry is null)
            {
                return null;
            }

            entry.Locked = true;
            entry.DeliveryCount++;
        }

        var received = ServiceBusModelFactory.ServiceBusReceivedMessage(
            body: entry.Message.Body,
            messageId: entry.Message.MessageId,
            correlationId: entry.Message.CorrelationId,
            contentType: entry.Message.ContentType,
            properties: entry.Message.ApplicationProperties,
            lockTokenGuid: Guid.NewGuid(),
            deliveryCount: entry.DeliveryCount,
            sequenceNumber: entry.Sequence,
            enqueuedTime: entry.VisibleAt,
            scheduledEnqueueTime: entry.Message.ScheduledEnqueueTime);
        return new BrokerArgs(this, entry, received);
    }

    private static void Transactional(Action apply)
    {
        if (Transaction.Current is { } transaction)
        {
            transaction.EnlistVolatile(new OnCommit(apply), EnlistmentOptions.None);
        }
        else
        {
            apply();
        }
    }

    private void Remove(Entry entry)
    {
        lock (_gate)
        {
            if (!_active.Remove(entry))
            {
                throw new ServiceBusException("The lock was lost.", ServiceBusFailureReason.MessageLockLost);
            }
        }
    }

    private sealed class Entry(ServiceBusMessage message, DateTimeOffset visibleAt, long sequence)
    {
        public ServiceBusMessage Message { get; } = message;

        public DateTimeOffset VisibleAt { get; } = visibleAt;

        public long Sequence { get; } = sequence;

        public bool Locked { get; set; }

        public int DeliveryCount { get; set; }
    }

    private sealed class BrokerArgs(InMemoryServiceBus bus, Entry entry, ServiceBusReceivedMessage message)
        : ProcessMessageEventArgs(message, new NoReceiver(), CancellationToken.None)
    {
        public override Task CompleteMessageAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken = default)
        {
            Transactional(() => bus.Remove(entry));
            return Task.CompletedTask;
        }

        public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, string deadLetterReason, string? deadLetterErrorDescription = null, CancellationToken cancellationToken = default) =>
            DeadLetterMessageAsync(message, null, deadLetterReason, deadLetterErrorDescription, cancellationToken);

        public override Task DeadLetterMessageAsync(
            ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify, string deadLetterReason,
            string? deadLetterErrorDescription = null, CancellationToken cancellationToken = default)
        {
            Transactional(() =>
            {
                bus.Remove(entry);
                var properties = new Dictionary<string, object>(entry.Message.ApplicationProperties);
                foreach (var (key, value) in propertiesToModify ?? new Dictionary<string, object>())
                {
                    properties[key] = value;
                }

                lock (bus._gate)
                {
                    bus._dead.Add(new DeadEntry(bus, entry.Message.Body, entry.Message.MessageId, entry.Message.CorrelationId, entry.Message.ContentType,
                        properties, deadLetterReason, deadLetterErrorDescription ?? "", ++bus._deadSequence, bus._time.GetUtcNow(), entry.DeliveryCount));
                }
            });
            return Task.CompletedTask;
        }
    }

    /// <summary>A message in the dead-letter sub-queue.</summary>
    private sealed class DeadEntry(
        InMemoryServiceBus bus, BinaryData body, string messageId, string? correlationId, string? contentType,
        Dictionary<string, object> properties, string reason, string description, long sequence, DateTimeOffset enqueuedAt, int deliveryCount)
    {
        public string Reason { get; } = reason;

        public string Description { get; } = description;

        public long Sequence { get; } = sequence;

        public bool Deferred { get; set; }

        public Guid? LockToken { get; set; }

        public DateTimeOffset LockedUntil { get; set; }

        public int DeliveryCount { get; set; } = deliveryCount;

        public bool IsLocked => LockToken is not null && LockedUntil > bus._time.GetUtcNow();

        public ServiceBusReceivedMessage Snapshot(Guid? lockToken)
        {
            var all = new Dictionary<string, object>(properties)
            {
                ["DeadLetterReason"] = Reason,
                ["DeadLetterErrorDescription"] = Description,
            };
            return ServiceBusModelFactory.ServiceBusReceivedMessage(
                body: body,
                messageId: messageId,
                correlationId: correlationId,
                contentType: contentType,
                properties: all,
                lockTokenGuid: lockToken ?? default,
                deliveryCount: DeliveryCount,
                lockedUntil: lockToken is null ? default : LockedUntil,
                sequenceNumber: Sequence,
                enqueuedTime: enqueuedAt,
                serviceBusMessageState: Deferred ? ServiceBusMessageState.Deferred : ServiceBusMessageState.Active);
        }
    }

    /// <summary>The dead-letter sub-queue as the adapter's <see cref="IServiceBusDeadLetterQueue"/> sees it.</summary>
    private sealed class DeadLetterSubQueue(InMemoryServiceBus bus) : IServiceBusDeadLetterQueue
    {
        public Task<IReadOnlyList<ServiceBusReceivedMessage>> PeekAsync(long fromSequenceNumber, int maxMessages, CancellationToken cancellationToken)
        {
            lock (bus._gate)
            {
                return Task.FromResult<IReadOnlyList<ServiceBusReceivedMessage>>(
                    [.. bus._dead.Where(d => d.Sequence >= fromSequenceNumber).OrderBy(d => d.Sequence).Take(maxMessages).Select(d => d.Snapshot(null))]);
            }
        }

        public Task<IReadOnlyList<ServiceBusReceivedMessage>> ReceiveAsync(int maxMessages, CancellationToken cancellationToken)
        {
            lock (bus._gate)
            {
                var taken = bus._dead.Where(d => !d.Deferred && !d.IsLocked).OrderBy(d => d.Sequence).Take(maxMessages).ToList();
                return Task.FromResult<IReadOnlyList<ServiceBusReceivedMessage>>([.. taken.Select(Lock)]);
            }
        }

        public Task<ServiceBusReceivedMessage?> ReceiveDeferredAsync(long sequenceNumber, CancellationToken cancellationToken)
        {
            lock (bus._gate)
            {
                var entry = bus._dead.SingleOrDefault(d => d.Sequence == sequenceNumber && d.Deferred && !d.IsLocked);
                return Task.FromResult(entry is null ? null : Lock(entry));
            }
        }

        public Task DeferAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken)
        {
            lock (bus._gate)
            {
                var entry = Held(message);
                entry.Deferred = true;
                entry.LockToken = null;
            }

            return Task.CompletedTask;
        }

        public Task AbandonAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken)
        {
            lock (bus._gate)
            {
                Held(message).LockToken = null;
            }

            return Task.CompletedTask;
        }

        public async Task CompleteAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken)
        {
            if (bus.BeforeDeadLetterComplete is { } hold)
            {
                await hold();
            }

            DeadEntry entry;
            lock (bus._gate)
            {
                entry = Held(message);
            }

            Transactional(() =>
            {
                lock (bus._gate)
                {
                    // Settled at commit, if the lock still holds then.
                    if (entry.LockToken != LockOf(message) || !bus._dead.Remove(entry))
                    {
                        throw new ServiceBusException("The lock was lost.", ServiceBusFailureReason.MessageLockLost);
                    }
                }
            });
        }

        public Task SendAsync(ServiceBusMessage message, CancellationToken cancellationToken) => bus.SendAsync(message, cancellationToken);

        private ServiceBusReceivedMessage Lock(DeadEntry entry)
        {
            entry.LockToken = Guid.NewGuid();
            entry.LockedUntil = bus._time.GetUtcNow() + bus.LockDuration;
            entry.DeliveryCount++;
            return entry.Snapshot(entry.LockToken);
        }

        // The entry whose lock this message holds now; anything else is a lost lock, as on Service Bus.
        private DeadEntry Held(ServiceBusReceivedMessage message)
        {
            var entry = bus._dead.SingleOrDefault(d => d.Sequence == message.SequenceNumber);
            if (entry is null || !entry.IsLocked || entry.LockToken != LockOf(message))
            {
                throw new ServiceBusException("The lock was lost.", ServiceBusFailureReason.MessageLockLost);
            }

            return entry;
        }
    }

    /// <summary>
    /// The numbers as Service Bus gives them: a message is active once visible (locked or not: Service Bus does not
    /// count locks apart), scheduled before; the peek goes in sequence order from the head, enqueued time = visible time.
    /// </summary>
    private sealed class Metrics(InMemoryServiceBus bus) : IServiceBusQueueMetrics
    {
        public Task<ServiceBusQueueMetricsSnapshot> ReadAsync(int maxPeek, CancellationToken cancellationToken)
        {
            if (bus.QueueMetricsFailWith is { } failure)
            {
                return Task.FromException<ServiceBusQueueMetricsSnapshot>(failure);
            }

            lock (bus._gate)
            {
                var now = bus._time.GetUtcNow();
                var active = bus._active.Count(e => e.VisibleAt <= now);
                var scheduled = bus._active.Count - active;
                var peeked = bus._active.OrderBy(e => e.Sequence).Take(maxPeek).ToList();
                var oldest = peeked.Where(e => e.VisibleAt <= now).Select(e => (DateTimeOffset?)e.VisibleAt).Min();
                return Task.FromResult(new ServiceBusQueueMetricsSnapshot(
                    active, scheduled, bus._dead.Count, bus._active.Count + bus._dead.Count,
                    oldest, [.. peeked.Where(e => e.VisibleAt > now).Select(e => e.VisibleAt)], peeked.Count, bus._active.Count > peeked.Count));
            }
        }
    }

    private sealed class NoReceiver : ServiceBusReceiver;

    /// <summary>The lock token of a received message (none for a peeked one).</summary>
    internal static Guid? LockOf(ServiceBusReceivedMessage message) => Guid.TryParse(message.LockToken, out var token) ? token : null;

    private sealed class OnCommit(Action apply) : IEnlistmentNotification
    {
        public void Prepare(PreparingEnlistment preparingEnlistment) => preparingEnlistment.Prepared();

        public void Commit(Enlistment enlistment)
        {
            apply();
            enlistment.Done();
        }

        public void Rollback(Enlistment enlistment) => enlistment.Done();

        public void InDoubt(Enlistment enlistment) => enlistment.Done();
    }
}
