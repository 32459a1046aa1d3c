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
/// <see cref="ServiceBusJobDispatcher.OpenAsync"/>, as the worker does.
/// </summary>
public sealed class InMemoryServiceBus : IServiceBusJobSender
{
    private readonly object _gate = new();
    private readonly List<Entry> _active = [];
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
            this, NullLogger<ServiceBusJobDispatcher>.Instance, new TestMeterFactory());
    }

    /// <summary>The dead-lettered messages with their reason and description.</summary>
    public List<(ServiceBusReceivedMessage Message, string Reason, string Description)> DeadLetters { get; } = [];

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

        public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, string deadLetterReason, string? deadLetterErrorDescription = null, CancellationToken cancellationToken = default)
        {
            Transactional(() =>
            {
                bus.Remove(entry);
                lock (bus._gate)
                {
                    bus.DeadLetters.Add((message, deadLetterReason, deadLetterErrorDescription ?? ""));
                }
            });
            return Task.CompletedTask;
        }
    }

    private sealed class NoReceiver : ServiceBusReceiver;

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
