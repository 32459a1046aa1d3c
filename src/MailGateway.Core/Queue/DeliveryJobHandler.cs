using System.Collections.Concurrent;
using System.Diagnostics;
using MailGateway.Core.Bounces;
using MailGateway.Core.Delivery;
using MailGateway.Core.Messages;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Suppressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Queue;

/// <summary>
/// Delivers one leased job and settles it: the one delivery worker of every host (the SQLite pump of the standalone
/// host, the Service Bus processor in Azure).
/// </summary>
/// <remarks>
/// Ledger rules: the status record is moved to <c>sending</c> before the relay is contacted, and <c>delivered</c>
/// is written before the job is completed, so a redelivered job whose message is already delivered completes without
/// sending. The one ambiguous window is between the relay's 250 to the final dot and the write of <c>delivered</c>:
/// a crash there makes the next lease (which finds the record still <c>sending</c>) send the message again, with the
/// same Message-ID. Only a crash opens it: when the store refuses the write of an attempt's outcome (a full disk), the
/// outcome is kept in memory and its recording retried until the store takes it; a job of the same message leased
/// meanwhile (its lease ran out) waits for that recording instead of sending.
/// </remarks>
public sealed partial class DeliveryJobHandler : IDeliveryJobHandler
{
    private readonly IMessageContentStore _content;
    private static readonly TimeSpan FirstRecordingRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LastRecordingRetry = TimeSpan.FromSeconds(15);

    private readonly IMessageStatusStore _status;
    private readonly IDeliveryRecorder _recorder;
    private readonly IDeliveryEngine _engine;
    private readonly IOptionsMonitor<DeliveryRetryOptions> _options;
    private readonly DeliveryWorkerOptions _worker;
    private readonly TimeProvider _time;
    private readonly ILogger<DeliveryJobHandler> _logger;
    private readonly ISuppressionList _suppressions;
    private readonly BounceAddresses _bounces;

    // The outcomes this process holds because the store refused them, by message id: a job of the message waits for them.
    private readonly ConcurrentDictionary<string, Task> _recording = new(StringComparer.Ordinal);

    /// <summary>Creates the handler; a delivery is recorded step by step (<see cref="StoreDeliveryRecorder"/>).</summary>
    public DeliveryJobHandler(
        IMessageContentStore content,
        IMessageStatusStore status,
        IDeliveryEngine engine,
        IOptionsMonitor<DeliveryRetryOptions> options,
        IOptions<DeliveryWorkerOptions> worker,
        TimeProvider time,
        ILogger<DeliveryJobHandler> logger)
        : this(content, status, new StoreDeliveryRecorder(status, content), engine, options, worker, time, logger)
    {
    }

    /// <summary>Creates the handler with the store's own way of recording a delivery, no suppression list and no bounce domain.</summary>
    public DeliveryJobHandler(
        IMessageContentStore content,
        IMessageStatusStore status,
        IDeliveryRecorder recorder,
        IDeliveryEngine engine,
        IOptionsMonitor<DeliveryRetryOptions> options,
        IOptions<DeliveryWorkerOptions> worker,
        TimeProvider time,
        ILogger<DeliveryJobHandler> logger)
        : this(content, status, recorder, engine, options, worker, time, logger, new NoSuppressionList(), new BounceAddresses(Options.Create(new BounceOptions())))
    {
    }

    /// <summary>
    /// Creates the handler with a suppression list (checked just before the relay is contacted) and the bounce
    /// addresses (with a bounce domain, each recipient is sent in its own transaction with a signed VERP sender).
    /// </summary>
    public DeliveryJobHandler(
        IMessageContentStore content,
        IMessageStatusStore status,
        IDeliveryRecorder recorder,
        IDeliveryEngine engine,
        IOptionsMonitor<DeliveryRetryOptions> options,
        IOptions<DeliveryWorkerOptions> worker,
        TimeProvider time,
        ILogger<DeliveryJobHandler> logger,
        ISuppressionList suppressions,
        BounceAddresses bounces)
    {
        ArgumentNullException.ThrowIfNull(worker);
        _suppressions = suppressions;
        _bounces = bounces;
        _content = content;
        _status = status;
        _recorder = recorder;
        _engine = engine;
        _options = options;
        _worker = worker.Value;
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task HandleAsync(IDeliveryJobContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var job = context.Job;
        var options = _options.CurrentValue;
        using var activity = StartActivity(job, context.DeliveryCount);

        if (_recording.TryGetValue(job.MessageId, out var recording))
        {
            // This process still holds an outcome of the message the store refused: never send before it is recorded.
            LogWaitingForRecording(job.MessageId);
            await recording.WaitAsync(cancellationToken);
        }

        if (context.DeliveryCount > _worker.MaxDeliveryCount)
        {
            // Handed out again and again without a settlement: a crash (or a lost lease) on every attempt.
            LogPoison(job.MessageId, context.DeliveryCount);
            var why = $"Handed out {context.DeliveryCount} times without a settlement.";
            if (await _status.GetAsync(job.MessageId, cancellationToken) is { } record && !record.State.IsFinal())
            {
                await _status.SetStateAsync(job.MessageId, MessageState.Failed, $"Dead-lettered after {context.DeliveryCount - 1} unsettled deliveries.", cancellationToken);
            }

            await context.DeadLetterAsync(DeadLetterReasons.TooManyDeliveries, why, cancellationToken);
            return;
        }

        var before = await _status.TryBeginSendingAsync(job.MessageId, cancellationToken);
        if (before is null)
        {
            LogMalformed(job.MessageId, "no status record");
            await context.DeadLetterAsync(DeadLetterReasons.MalformedJob, "No status record for this message.", cancellationToken);
            return;
        }

        if (before.State.IsFinal())
        {
            // The ledger: a redelivered job whose message already reached a final state never sends again.
            LogAlreadyFinal(job.MessageId, before.State);
            await context.CompleteAsync(cancellationToken);
            return;
        }

        if (before.State == MessageState.Sending)
        {
            LogResendAfterInterruptedAttempt(job.MessageId, context.DeliveryCount);
        }

        var now = _time.GetUtcNow();
        var deadline = Deadline(job, options);
        if (now >= deadline)
        {
            await ExpireAsync(context, before, "Expired before delivery: " + DeadlineText(job, options), cancellationToken);
            return;
        }

        // The suppression list, just before the relay (an address suppressed while the message waited still counts).
        IReadOnlySet<string> suppressed;
        try
        {
            suppressed = await _suppressions.FindAsync(before.Owner, job.Recipients, now, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSuppressionListUnavailable(ex, job.MessageId);
            await SettleAsync(context, before, Deferred(job, "The suppression list is unavailable."), job.Recipients, [], now, deadline, options, cancellationToken);
            return;
        }

        var suppressedResults = job.Recipients.Where(suppressed.Contains).Select(r => new RecipientResult(r, RecipientState.Suppressed, null)).ToList();
        var toSend = suppressedResults.Count == 0 ? job.Recipients : [.. job.Recipients.Where(r => !suppressed.Contains(r))];
        if (toSend.Count == 0)
        {
            await SuppressAllAsync(context, before, suppressedResults, now, cancellationToken);
            return;
        }

        // One attempt (loading the content and the SMTP session) has a deadline, so a job that cannot be handled
        // holds its delivery slot at most that long; settling the outcome is not cut short by it.
        using var attempt = new CancellationTokenSource(options.AttemptTimeout, _time);
        using var attemptToken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, attempt.Token);
        ReadOnlyMemory<byte> content;
        try
        {
            // The stored bytes are the wire form: read, never parsed (parsing cost super-linear time in a header).
            content = await ReadContentAsync(job.ContentReference, attemptToken.Token);
        }
        catch (MessageContentNotFoundException ex)
        {
            LogContentMissing(job.MessageId, ex.Message);
            await _status.SetStateAsync(job.MessageId, MessageState.Failed, "Stored message content is missing.", cancellationToken);
            await context.DeadLetterAsync(DeadLetterReasons.ContentMissing, ex.Message, cancellationToken);
            return;
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Unsettled on purpose: the job comes back when its lease ends and is dead-lettered after MaxDeliveryCount.
            LogAttemptDeadline(job.MessageId, options.AttemptTimeout, "loading the content");
            return;
        }

        DeliveryOutcome outcome;
        try
        {
            outcome = _bounces.Enabled
                ? await DeliverEachAsync(job, before, toSend, content, attemptToken.Token)
                : await _engine.DeliverAsync(new DeliveryRequest(job.MessageId, content, new Envelope(job.MailFrom, toSend)), attemptToken.Token);
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogAttemptDeadline(job.MessageId, options.AttemptTimeout, "delivering");
            outcome = Deferred(toSend, $"The attempt deadline ({options.AttemptTimeout}) passed.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The engine reports expected failures as values; anything else is treated as transient, never lost.
            LogEngineThrew(ex, job.MessageId);
            outcome = Deferred(toSend, "Delivery engine error: " + ex.GetType().Name);
        }

        if (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            outcome = outcome with { Reason = $"The attempt deadline ({options.AttemptTimeout}) passed: {outcome.Reason}" };
        }

        activity?.SetTag("mailgateway.outcome", outcome.Kind.ToString());
        await SettleAsync(context, before, outcome, toSend, suppressedResults, now, deadline, options, cancellationToken);
    }

    /// <summary>
    /// Every recipient is suppressed: the message ends <c>suppressed</c> without contacting the relay. The check is
    /// recorded as an attempt without a port (so each recipient's <c>suppressed</c> event has its attempt number).
    /// </summary>
    private async Task SuppressAllAsync(IDeliveryJobContext context, MessageRecord before, List<RecipientResult> suppressed, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var job = context.Job;
        const string reply = "Not sent: every recipient is on the suppression list.";
        var attempt = new DeliveryAttemptRecord(before.Attempts.Count + 1, now, TimeSpan.Zero, DeliveryOutcomeKind.Failed, null, null, reply);
        var recipients = Merge(before.Recipients, suppressed);
        LogSuppressed(job.MessageId, suppressed.Count);
        await KeepOutcomeAsync(job.MessageId, ct => _status.RecordAttemptAsync(job.MessageId, attempt, MessageState.Suppressed, recipients, null, reply, ct), cancellationToken);
        await context.CompleteAsync(cancellationToken);
    }

    /// <summary>
    /// With a bounce domain: one transaction per recipient, each with its own signed VERP sender (a DSN names the one
    /// recipient it is about). A recipient whose index in the message's envelope is unknown keeps the original sender.
    /// The attempt deadline stops the loop: the recipients not reached yet are deferred, the results so far kept.
    /// </summary>
    private async Task<DeliveryOutcome> DeliverEachAsync(DeliveryJob job, MessageRecord before, IReadOnlyList<string> recipients, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var envelope = (before.Envelope?.Recipients ?? []).ToList();
        var results = new List<RecipientResult>(recipients.Count);
        DeliveryOutcome? last = null;
        var duration = TimeSpan.Zero;
        foreach (var recipient in recipients)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                results.Add(new RecipientResult(recipient, RecipientState.Deferred, null));
                continue;
            }

            var index = envelope.FindIndex(r => string.Equals(r, recipient, StringComparison.OrdinalIgnoreCase));
            var from = (index >= 0 ? _bounces.For(job.MessageId, index) : null) ?? job.MailFrom;
            DeliveryOutcome outcome;
            try
            {
                outcome = await _engine.DeliverAsync(new DeliveryRequest(job.MessageId, content, new Envelope(from, [recipient])), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                results.Add(new RecipientResult(recipient, RecipientState.Deferred, null));
                continue;
            }

            duration += outcome.Duration;
            results.AddRange(outcome.Recipients.Count > 0
                ? outcome.Recipients
                : [new RecipientResult(recipient, DeliveryOutcome.RecipientStateFor(outcome.Kind), outcome.Reply)]);
            last = outcome.Kind == DeliveryOutcomeKind.Delivered && last is not null ? last with { Port = outcome.Port, TlsProtocol = outcome.TlsProtocol } : outcome;
        }

        var kind = DeliveryOutcome.KindOf(results);
        return new DeliveryOutcome
        {
            Kind = kind,
            Reason = last?.Reason ?? "The attempt deadline passed before the first recipient.",
            Reply = last?.Reply,
            Port = last?.Port,
            TlsProtocol = last?.TlsProtocol,
            TlsCipherSuite = last?.TlsCipherSuite,
            Duration = duration,
            Recipients = results,
        };
    }

    private async Task<ReadOnlyMemory<byte>> ReadContentAsync(string reference, CancellationToken cancellationToken)
    {
        await using var stream = await _content.OpenReadAsync(reference, cancellationToken);
        if (stream is MemoryStream memory && memory.TryGetBuffer(out var buffer))
        {
            return buffer;
        }

        using var copy = stream.CanSeek ? new MemoryStream(checked((int)(stream.Length - stream.Position))) : new MemoryStream();
        await stream.CopyToAsync(copy, cancellationToken);
        return copy.GetBuffer().AsMemory(0, (int)copy.Length);
    }

    private static DeliveryOutcome Deferred(DeliveryJob job, string reason) => Deferred(job.Recipients, reason);

    private static DeliveryOutcome Deferred(IReadOnlyList<string> recipients, string reason) => new()
    {
        Kind = DeliveryOutcomeKind.Deferred,
        Reason = reason,
        Recipients = [.. recipients.Select(r => new RecipientResult(r, RecipientState.Deferred, null))],
    };

    /// <summary>
    /// The activity of handling one job: a child of the request that accepted the message (its trace context travels
    /// with the job), linked to the queue's own processing span when there is one (the Service Bus processor's).
    /// </summary>
    private static Activity? StartActivity(DeliveryJob job, int deliveryCount)
    {
        if (!DeliveryTelemetry.Source.HasListeners())
        {
            return null;
        }

        var current = Activity.Current;
        ActivityLink[]? links = null;
        if (!ActivityContext.TryParse(job.TraceParent, job.TraceState, isRemote: true, out var parent))
        {
            parent = default;
        }
        else if (current is not null)
        {
            links = [new ActivityLink(current.Context)];
        }

        var activity = DeliveryTelemetry.Source.StartActivity(ActivityKind.Consumer, parent, links: links, name: "deliver message");
        activity?.SetTag("mailgateway.message_id", job.MessageId);
        activity?.SetTag("mailgateway.attempt", job.Attempt);
        activity?.SetTag("messaging.message.delivery_count", deliveryCount);
        return activity;
    }

    private async Task SettleAsync(
        IDeliveryJobContext context,
        MessageRecord before,
        DeliveryOutcome outcome,
        IReadOnlyList<string> attempted,
        IReadOnlyList<RecipientResult> suppressed,
        DateTimeOffset startedAt,
        DateTimeOffset deadline,
        DeliveryRetryOptions options,
        CancellationToken cancellationToken)
    {
        var job = context.Job;
        var reply = outcome.Reply?.ToString() ?? outcome.Reason;
        var attempt = new DeliveryAttemptRecord(
            before.Attempts.Count + 1, startedAt, outcome.Duration, outcome.Kind, outcome.Port, outcome.TlsProtocol, reply);
        var results = PerRecipient(attempted, outcome);
        results.AddRange(suppressed);
        var recipients = Merge(before.Recipients, results);

        LogAttempt(job.MessageId, attempt.Number, outcome.Kind, outcome.Port);
        LogAttemptReply(job.MessageId, attempt.Number, reply);

        // The recipients decide, by the engine's own rule (DeliveryOutcome.KindOf): part of them deferred (e.g. 452 too
        // many recipients) retries those; an unknown result is retried only when configured.
        var decided = options.ResendUnknown
            ? results.Select(r => r.State == RecipientState.Unknown ? r with { State = RecipientState.Deferred } : r).ToList()
            : results;
        var kind = DeliveryOutcome.KindOf(decided);
        var pending = decided.Where(r => r.State == RecipientState.Deferred).Select(r => r.Address).ToList();

        switch (kind)
        {
            case DeliveryOutcomeKind.Delivered:
                await KeepOutcomeAsync(job.MessageId, async ct =>
                {
                    try
                    {
                        await _recorder.RecordDeliveredAsync(context, attempt, recipients, reply, options.DeleteContentAfterDelivery, ct);
                    }
                    catch (DeliveryRecordedException ex)
                    {
                        // Recorded: the job comes back and completes without sending; leftover content is cleaned up.
                        LogSettledPartly(ex, job.MessageId);
                    }
                }, cancellationToken);
                break;

            case DeliveryOutcomeKind.Deferred:
                // Never later than the deadline: the message stays deferred until then and expires there, not earlier.
                var next = _time.GetUtcNow() + options.BackoffAfter(job.Attempt, Random.Shared);
                if (next > deadline)
                {
                    next = deadline;
                }

                await KeepOutcomeAsync(job.MessageId, ct => _status.RecordAttemptAsync(job.MessageId, attempt, MessageState.Deferred, recipients, next, reply, ct), cancellationToken);
                await context.RescheduleAsync(job with { Attempt = job.Attempt + 1, Recipients = pending }, next, cancellationToken);
                break;

            case DeliveryOutcomeKind.Failed:
                await KeepOutcomeAsync(job.MessageId, ct => _status.RecordAttemptAsync(job.MessageId, attempt, MessageState.Failed, recipients, null, reply, ct), cancellationToken);
                await context.DeadLetterAsync(DeadLetterReasons.Failed, reply, cancellationToken);
                break;

            default:
                await KeepOutcomeAsync(job.MessageId, ct => _status.RecordAttemptAsync(job.MessageId, attempt, MessageState.Unknown, recipients, null, reply, ct), cancellationToken);
                await context.DeadLetterAsync(DeadLetterReasons.Unknown, reply, cancellationToken);
                break;
        }

        await SuppressHardBouncesAsync(before, results, startedAt, cancellationToken);
    }

    /// <summary>
    /// A recipient the relay refused as a bad address (5.1.x, but not 5.1.7/5.1.8, which are about the sender) goes on
    /// the sending key's suppression list. After the outcome is recorded; a list that refuses the write loses only the entry.
    /// </summary>
    private async Task SuppressHardBouncesAsync(MessageRecord before, List<RecipientResult> results, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var result in results)
        {
            if (result.State != RecipientState.Failed || !IsBadAddress(result.Reply))
            {
                continue;
            }

            try
            {
                await _suppressions.AddAsync(new SuppressionEntry(
                    before.Owner, SuppressionAddress.Normalize(result.Address), SuppressionReasons.HardBounce, now, null,
                    SuppressionAddress.Detail(result.Reply?.ToString()), before.Id), cancellationToken);
                LogHardBounce(before.Id);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSuppressionListUnavailable(ex, before.Id);
            }
        }
    }

    private static bool IsBadAddress(SmtpReply? reply) =>
        reply is { IsPermanent: true, EnhancedCode: { } code }
        && code.StartsWith("5.1.", StringComparison.Ordinal)
        && code is not ("5.1.7" or "5.1.8");

    /// <summary>
    /// Writes an attempt's outcome; while the store refuses it (disk full, unavailable), keeps it and retries with a
    /// growing pause (0.5 s to 15 s) until the store takes it or the host stops: the message is never sent again
    /// because its outcome could not be written. Only the death of the process loses it (the ambiguous window).
    /// </summary>
    private async Task KeepOutcomeAsync(string messageId, Func<CancellationToken, Task> record, CancellationToken cancellationToken)
    {
        Exception failure;
        try
        {
            await record(cancellationToken);
            return;
        }
        catch (Exception ex) when (IsStoreRefusal(ex, cancellationToken))
        {
            failure = ex;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _recording[messageId] = done.Task;
        try
        {
            var delay = FirstRecordingRetry;
            for (var failures = 1; ; failures++)
            {
                LogRecordingFailed(failure, messageId, failures, delay);
                await Task.Delay(delay, _time, cancellationToken);
                try
                {
                    await record(cancellationToken);
                    LogRecordedAfterRetries(messageId, failures);
                    return;
                }
                catch (Exception ex) when (IsStoreRefusal(ex, cancellationToken))
                {
                    failure = ex;
                    delay = delay * 2 < LastRecordingRetry ? delay * 2 : LastRecordingRetry;
                }
            }
        }
        finally
        {
            _recording.TryRemove(new KeyValuePair<string, Task>(messageId, done.Task));
            done.TrySetResult();
        }
    }

    /// <summary>
    /// A store that did not take the write (disk full, I/O, unavailable service): worth retrying. A bug (an argument or
    /// state the store rejects, e.g. a record that no longer exists) and the host's cancellation are not.
    /// </summary>
    private static bool IsStoreRefusal(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        ArgumentException or InvalidOperationException => false,
        _ => true,
    };

    private async Task ExpireAsync(IDeliveryJobContext context, MessageRecord before, string why, CancellationToken cancellationToken)
    {
        await _status.SetStateAsync(context.Job.MessageId, MessageState.Expired, before.LastReply is null ? why : $"{why}; last reply: {before.LastReply}", cancellationToken);
        await context.DeadLetterAsync(DeadLetterReasons.Expired, why, cancellationToken);
        LogExpired(context.Job.MessageId);
    }

    private static DateTimeOffset Deadline(DeliveryJob job, DeliveryRetryOptions options)
    {
        var maxAge = job.FirstSeen + options.MaxAge;
        return job.ExpiresAt is { } expiresAt && expiresAt < maxAge ? expiresAt : maxAge;
    }

    private static string DeadlineText(DeliveryJob job, DeliveryRetryOptions options) =>
        job.ExpiresAt is { } expiresAt && expiresAt < job.FirstSeen + options.MaxAge
            ? $"expiresAt {expiresAt:O}"
            : $"maximum age {options.MaxAge}";

    /// <summary>
    /// One result per attempted recipient: the engine's own, or the attempt's verdict for a recipient it did not
    /// report on (an attempted recipient is never dropped silently).
    /// </summary>
    private static List<RecipientResult> PerRecipient(IReadOnlyList<string> attempted, DeliveryOutcome outcome)
    {
        var reported = new Dictionary<string, RecipientResult>(StringComparer.OrdinalIgnoreCase);
        foreach (var result in outcome.Recipients)
        {
            reported[result.Address] = result;
        }

        var fallback = outcome.Recipients.Count == 0 ? DeliveryOutcome.RecipientStateFor(outcome.Kind) : RecipientState.Deferred;
        var results = new List<RecipientResult>(outcome.Recipients);
        foreach (var address in attempted)
        {
            if (!reported.ContainsKey(address))
            {
                results.Add(new RecipientResult(address, fallback, outcome.Recipients.Count == 0 ? outcome.Reply : null));
            }
        }

        return results;
    }

    /// <summary>The latest result per recipient: this attempt's results over the earlier ones.</summary>
    private static List<RecipientResult> Merge(IReadOnlyList<RecipientResult> earlier, List<RecipientResult> latest)
    {
        var byAddress = new Dictionary<string, RecipientResult>(StringComparer.OrdinalIgnoreCase);
        var order = new List<string>();
        foreach (var result in earlier.Concat(latest))
        {
            if (!byAddress.ContainsKey(result.Address))
            {
                order.Add(result.Address);
            }

            byAddress[result.Address] = result;
        }

        return [.. order.Select(a => byAddress[a])];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} attempt {Attempt}: {Outcome} (port {Port})")]
    private partial void LogAttempt(string messageId, int attempt, DeliveryOutcomeKind outcome, int? port);

    // SMTP replies often quote the recipient's address: Debug only.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Message {MessageId} attempt {Attempt} reply: {Reply}")]
    private partial void LogAttemptReply(string messageId, int attempt, string reply);

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} is already {State}; completing the job without sending")]
    private partial void LogAlreadyFinal(string messageId, MessageState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} was being sent when its previous lease ended (delivery {DeliveryCount}); sending again with the same Message-ID")]
    private partial void LogResendAfterInterruptedAttempt(string messageId, int deliveryCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} expired")]
    private partial void LogExpired(string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job for message {MessageId} is malformed: {Problem}")]
    private partial void LogMalformed(string messageId, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "Content of message {MessageId} is missing: {Problem}")]
    private partial void LogContentMissing(string messageId, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId}: the attempt deadline ({Deadline}) passed while {Phase}")]
    private partial void LogAttemptDeadline(string messageId, TimeSpan deadline, string phase);

    [LoggerMessage(Level = LogLevel.Error, Message = "The delivery engine threw for message {MessageId}; deferring")]
    private partial void LogEngineThrew(Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recording the outcome of message {MessageId} failed ({Failures} time(s)); keeping it and retrying in {Delay}")]
    private partial void LogRecordingFailed(Exception exception, string messageId, int failures, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The outcome of message {MessageId} is recorded after {Failures} failed write(s)")]
    private partial void LogRecordedAfterRetries(string messageId, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} is recorded delivered, but its job or content could not be removed; the job completes when it comes back")]
    private partial void LogSettledPartly(Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A job of message {MessageId} waits: this process is still recording an earlier outcome of it")]
    private partial void LogWaitingForRecording(string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId}: all {Count} recipient(s) are suppressed; not sent")]
    private partial void LogSuppressed(string messageId, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId}: a recipient refused as a bad address (5.1.x) is now suppressed")]
    private partial void LogHardBounce(string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId}: the suppression list is unavailable")]
    private partial void LogSuppressionListUnavailable(Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job of message {MessageId} was handed out {Count} times without a settlement; dead-lettering")]
    private partial void LogPoison(string messageId, int count);
}
