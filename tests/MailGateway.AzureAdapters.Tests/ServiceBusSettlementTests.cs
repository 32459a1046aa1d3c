using System.Transactions;
using Azure.Messaging.ServiceBus;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.AzureAdapters.Tests;

/// <summary>
/// What reaches Service Bus for each outcome of a delivery: the handler fakes stand for the host-agnostic
/// DeliveryJobHandler's decisions; the settlement and the messages are the adapter's.
/// </summary>
public sealed class ServiceBusSettlementTests
{
    private static readonly DateTimeOffset NextAttempt = Jobs.FirstSeen.AddMinutes(5);

    private static ServiceBusJobDispatcher Dispatcher(IDeliveryJobHandler handler, RecordingSender sender) =>
        new(handler, sender, NullLogger<ServiceBusJobDispatcher>.Instance, new MailGateway.Testing.TestMeterFactory());

    [Fact]
    public async Task Delivered_completes_the_message_and_sends_nothing()
    {
        var sender = new RecordingSender();
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()));
        var handler = new DelegateHandler((context, ct) => context.CompleteAsync(ct));

        var result = await Dispatcher(handler, sender).DispatchAsync(args, CancellationToken.None);

        Assert.Equal(SettlementKind.Completed, result);
        Assert.Equal([new Settled("complete", null, null, null)], args.Settlements);
        Assert.Empty(sender.Sent);
    }

    [Fact]
    public async Task Deferred_schedules_a_copy_with_a_new_MessageId_and_completes_the_original_in_one_transaction()
    {
        var sender = new RecordingSender();
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()));
        var handler = new DelegateHandler((context, ct) =>
            context.RescheduleAsync(context.Job with { Attempt = context.Job.Attempt + 1 }, NextAttempt, ct));

        var result = await Dispatcher(handler, sender).DispatchAsync(args, CancellationToken.None);

        Assert.Equal(SettlementKind.Rescheduled, result);
        var (copy, sendTransaction) = Assert.Single(sender.Sent);
        Assert.Equal("01JABCDEF#2", copy.MessageId);
        Assert.Equal("01JABCDEF", copy.CorrelationId);
        Assert.Equal(NextAttempt, copy.ScheduledEnqueueTime);
        Assert.Equal(2, copy.ApplicationProperties[DeliveryJobMessages.AttemptProperty]);
        var next = DeliveryJobSerializer.Deserialize(copy.Body.ToMemory().Span);
        Assert.Equal(2, next.Attempt);
        Assert.Equal("01JABCDEF", next.MessageId);
        Assert.Equal(Jobs.FirstSeen, next.FirstSeen);

        var complete = Assert.Single(args.Settlements);
        Assert.Equal("complete", complete.Action);
        Assert.NotNull(sendTransaction);
        Assert.Equal(sendTransaction, complete.TransactionId);
        Assert.Equal([TransactionStatus.Committed], sender.TransactionOutcomes);
    }

    [Fact]
    public async Task Failed_dead_letters_with_the_reason_and_the_smtp_reply()
    {
        var sender = new RecordingSender();
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()));
        var handler = new DelegateHandler((context, ct) =>
            context.DeadLetterAsync("Failed", "550 5.1.1 <b@example.net>: Recipient address rejected", ct));

        var result = await Dispatcher(handler, sender).DispatchAsync(args, CancellationToken.None);

        Assert.Equal(SettlementKind.DeadLettered, result);
        Assert.Equal([new Settled("dead-letter", "Failed", "550 5.1.1 <b@example.net>: Recipient address rejected", null)], args.Settlements);
        Assert.Empty(sender.Sent);
    }

    [Fact]
    public async Task A_very_long_reply_is_cut_to_what_Service_Bus_accepts()
    {
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()));
        var handler = new DelegateHandler((context, ct) => context.DeadLetterAsync("Failed", "550 " + new string('x', 10_000), ct));

        await Dispatcher(handler, new RecordingSender()).DispatchAsync(args, CancellationToken.None);

        Assert.Equal(4096, Assert.Single(args.Settlements).Description!.Length);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("""{"v":99,"id":"x"}""")]
    [InlineData("""{"v":1,"id":"x"}""")]
    public async Task A_malformed_job_is_dead_lettered_at_once_without_calling_the_handler(string body)
    {
        var sender = new RecordingSender();
        var args = new RecordingArgs(Jobs.Received(BinaryData.FromString(body), "sb-1"));
        var handler = new DelegateHandler((context, ct) => context.CompleteAsync(ct));

        var result = await Dispatcher(handler, sender).DispatchAsync(args, CancellationToken.None);

        Assert.Equal(SettlementKind.DeadLettered, result);
        Assert.Equal(0, handler.Calls);
        var settled = Assert.Single(args.Settlements);
        Assert.Equal("dead-letter", settled.Action);
        Assert.Equal(DeadLetterReasons.MalformedJob, settled.Reason);
        Assert.False(string.IsNullOrEmpty(settled.Description));
        Assert.Empty(sender.Sent);
    }

    [Fact]
    public async Task Lock_lost_on_complete_leaves_the_message_unsettled_without_an_error()
    {
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()))
        {
            FailWith = new ServiceBusException("lock lost", ServiceBusFailureReason.MessageLockLost),
        };
        var handler = new DelegateHandler((context, ct) => context.CompleteAsync(ct));

        var result = await Dispatcher(handler, new RecordingSender()).DispatchAsync(args, CancellationToken.None);

        Assert.Equal(SettlementKind.LockLost, result);
        Assert.Empty(args.Settlements);
    }

    [Fact]
    public async Task Lock_lost_on_reschedule_rolls_the_scheduled_copy_back()
    {
        var sender = new RecordingSender();
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()))
        {
            FailWith = new ServiceBusException("lock lost", ServiceBusFailureReason.MessageLockLost),
        };
        var handler = new DelegateHandler((context, ct) =>
            context.RescheduleAsync(context.Job with { Attempt = 2 }, NextAttempt, ct));

        var result = await Dispatcher(handler, sender).DispatchAsync(args, CancellationToken.None);

        Assert.Equal(SettlementKind.LockLost, result);
        Assert.NotNull(Assert.Single(sender.Sent).TransactionId); // sent inside the transaction …
        Assert.Equal([TransactionStatus.Aborted], sender.TransactionOutcomes); // … which never committed
        Assert.Empty(args.Settlements);
    }

    [Fact]
    public async Task Lock_lost_reported_by_the_processor_skips_settlement_entirely()
    {
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()));
        var handler = new DelegateHandler(async (context, ct) =>
        {
            await args.RaiseLockLostAsync();
            await context.DeadLetterAsync("Failed", "550 no", ct);
        });

        var result = await Dispatcher(handler, new RecordingSender()).DispatchAsync(args, CancellationToken.None);

        Assert.Equal(SettlementKind.LockLost, result);
        Assert.Empty(args.Settlements);
    }

    [Fact]
    public async Task Other_settlement_errors_reach_the_handler()
    {
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()))
        {
            FailWith = new ServiceBusException("busy", ServiceBusFailureReason.ServiceBusy),
        };
        Exception? seen = null;
        var handler = new DelegateHandler(async (context, ct) =>
        {
            seen = await Record.ExceptionAsync(() => context.CompleteAsync(ct));
        });

        var result = await Dispatcher(handler, new RecordingSender()).DispatchAsync(args, CancellationToken.None);

        Assert.Null(result);
        Assert.Equal(ServiceBusFailureReason.ServiceBusy, Assert.IsType<ServiceBusException>(seen).Reason);
    }

    [Fact]
    public async Task A_failing_handler_leaves_the_message_for_redelivery_and_never_abandons_it()
    {
        var args = new RecordingArgs(Jobs.Received(Jobs.Job(), deliveryCount: 3));
        var handler = new DelegateHandler((_, _) => throw new InvalidOperationException("table storage down"));

        var result = await Dispatcher(handler, new RecordingSender()).DispatchAsync(args, CancellationToken.None);

        Assert.Null(result);
        Assert.Empty(args.Settlements);
    }

    [Fact]
    public async Task Aborted_by_shutdown_leaves_the_message_unsettled()
    {
        using var abort = new CancellationTokenSource();
        var args = new RecordingArgs(Jobs.Received(Jobs.Job()));
        var handler = new DelegateHandler(async (_, ct) =>
        {
            await abort.CancelAsync();
            ct.ThrowIfCancellationRequested();
        });

        var result = await Dispatcher(handler, new RecordingSender()).DispatchAsync(args, abort.Token);

        Assert.Null(result);
        Assert.Empty(args.Settlements);
    }

    [Fact]
    public async Task The_context_exposes_the_job_and_the_delivery_count_and_settles_once()
    {
        var args = new RecordingArgs(Jobs.Received(Jobs.Job(attempt: 2), deliveryCount: 4));
        IDeliveryJobContext? seen = null;
        var handler = new DelegateHandler(async (context, ct) =>
        {
            seen = context;
            await context.CompleteAsync(ct);
            await Assert.ThrowsAsync<InvalidOperationException>(() => context.DeadLetterAsync("again", "no", ct));
        });

        await Dispatcher(handler, new RecordingSender()).DispatchAsync(args, CancellationToken.None);

        Assert.Equal(4, seen!.DeliveryCount);
        Assert.Equal(2, seen.Job.Attempt);
        Assert.Equal("01JABCDEF", seen.Job.MessageId);
        Assert.Single(args.Settlements);
    }
}

public sealed class ServiceBusDispatcherMetricsTests
{
    [Fact]
    public async Task Jobs_are_counted_by_settlement()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var collector = new MetricCollector<long>(meters, ServiceBusJobDispatcher.MeterName, ServiceBusJobDispatcher.JobsCounterName);
        var dispatcher = new ServiceBusJobDispatcher(
            new DelegateHandler((context, ct) => context.CompleteAsync(ct)), new RecordingSender(), NullLogger<ServiceBusJobDispatcher>.Instance, meters);

        await dispatcher.DispatchAsync(new RecordingArgs(Jobs.Received(Jobs.Job())), CancellationToken.None);
        await dispatcher.DispatchAsync(new RecordingArgs(Jobs.Received(BinaryData.FromString("junk"))), CancellationToken.None);

        Assert.Equal(
            ["Completed", "DeadLettered"],
            collector.GetMeasurementSnapshot().Select(m => (string)m.Tags["settlement"]!).Order());
    }
}
