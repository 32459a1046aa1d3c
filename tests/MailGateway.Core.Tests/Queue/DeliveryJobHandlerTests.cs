using Microsoft.Extensions.Configuration;
using MailGateway.Core.Delivery;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Testing;

namespace MailGateway.Core.Tests.Queue;

/// <summary>The host-agnostic handler over the real embedded stores (SQLite and files) with a scripted engine.</summary>
public sealed class DeliveryJobHandlerTests : IDisposable
{
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    private Task<MessageRecord?> Record(string id) => _f.Status.GetAsync(id, CancellationToken.None);

    [Fact]
    public async Task Delivered_records_port_tls_and_reply_completes_the_job_and_deletes_the_content()
    {
        var job = await _f.AcceptAsync("m1");

        await _f.HandleNextAsync();

        var record = (await Record("m1"))!;
        Assert.Equal(MessageState.Delivered, record.State);
        var attempt = Assert.Single(record.Attempts);
        Assert.Equal((1, DeliveryOutcomeKind.Delivered, 587, "Tls13", "250 2.0.0 OK queued"), (attempt.Number, attempt.Outcome, attempt.Port!.Value, attempt.TlsProtocol!, attempt.Reply!));
        Assert.Equal(RecipientState.Delivered, Assert.Single(record.Recipients).State);
        Assert.Equal((0, 0), await _f.Queue.CountAsync(CancellationToken.None));
        await Assert.ThrowsAsync<Core.Storage.MessageContentNotFoundException>(() => _f.Content.OpenReadAsync(job.ContentReference, CancellationToken.None));
        Assert.Equal("<m1@example.com>", "<" + ScriptedEngine.MessageIdOf(Assert.Single(_f.Engine.Requests)) + ">");
    }

    [Fact]
    public async Task Delivered_is_written_before_the_job_is_completed()
    {
        await _f.AcceptAsync("m1");
        var leased = Assert.Single(await _f.Queue.LeaseAsync(1, TimeSpan.FromMinutes(1), CancellationToken.None));
        var probe = new ProbeContext(leased, () => Record("m1"));

        await _f.Handler.HandleAsync(probe, CancellationToken.None);

        Assert.Equal(MessageState.Delivered, probe.StateWhenSettled);
        Assert.Equal("Complete", probe.Settlement);
    }

    [Fact]
    public async Task A_job_whose_message_is_already_delivered_completes_without_sending()
    {
        await _f.AcceptAsync("m1");
        await _f.Status.SetStateAsync("m1", MessageState.Delivered, "250 ok", CancellationToken.None);

        await _f.HandleNextAsync();

        Assert.Empty(_f.Engine.Requests);
        Assert.Equal((0, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Deferred_attempts_follow_the_backoff_schedule_then_every_4_hours()
    {
        await _f.AcceptAsync("m1");
        _f.Engine.Default = (r, _) => Task.FromResult(ScriptedEngine.Deferred(r));
        var expected = new[] { 1, 5, 15, 30, 60, 120, 240, 240, 240 }.Select(m => TimeSpan.FromMinutes(m));

        var delays = new List<TimeSpan>();
        foreach (var _ in expected)
        {
            await _f.HandleNextAsync();
            var record = (await Record("m1"))!;
            Assert.Equal(MessageState.Deferred, record.State);
            var delay = record.NextAttemptAt!.Value - _f.Time.GetUtcNow();
            delays.Add(delay);
            _f.Time.Advance(delay);
        }

        Assert.Equal(expected, delays);
        Assert.All(_f.Engine.Requests, r => Assert.Equal("m1@example.com", ScriptedEngine.MessageIdOf(r)));
        Assert.Equal(expected.Count(), (await Record("m1"))!.Attempts.Count);
    }

    [Fact]
    public void Jitter_stays_within_the_configured_fraction()
    {
        var options = new DeliveryRetryOptions { JitterFraction = 0.2 };
        var random = new Random(7);

        var delays = Enumerable.Range(0, 500).Select(_ => options.BackoffAfter(3, random)).ToList();

        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromMinutes(12), TimeSpan.FromMinutes(18)));
        Assert.True(delays.Distinct().Count() > 100);
    }

    [Fact]
    public async Task Deferred_past_the_maximum_age_expires_and_is_dead_lettered()
    {
        _f.Retry.MaxAge = TimeSpan.FromMinutes(10);
        await _f.AcceptAsync("m1");
        _f.Engine.Default = (r, _) => Task.FromResult(ScriptedEngine.Deferred(r));

        await _f.HandleNextAsync(); // next at +1 m
        _f.Time.Advance(TimeSpan.FromMinutes(1));
        await _f.HandleNextAsync(); // +5 m would be at 6 m: still inside
        _f.Time.Advance(TimeSpan.FromMinutes(5));
        await _f.HandleNextAsync(); // +15 m is past 10 m: the next attempt is at the deadline
        Assert.Equal(_f.Time.GetUtcNow().AddMinutes(4), (await Record("m1"))!.NextAttemptAt);
        _f.Time.Advance(TimeSpan.FromMinutes(4));
        await _f.HandleNextAsync(); // at the deadline: expired without sending

        var record = (await Record("m1"))!;
        Assert.Equal(MessageState.Expired, record.State);
        Assert.Equal(3, record.Attempts.Count);
        Assert.Contains("451 4.3.0 try later", record.LastReply, StringComparison.Ordinal);
        var dead = Assert.Single(await _f.Queue.GetDeadLettersAsync(CancellationToken.None));
        Assert.Equal(DeadLetterReasons.Expired, dead.Reason);
    }

    [Fact]
    public async Task An_earlier_expiresAt_wins_over_the_maximum_age()
    {
        await _f.AcceptAsync("m1", expiresAt: _f.Time.GetUtcNow().AddMinutes(3));
        _f.Engine.Default = (r, _) => Task.FromResult(ScriptedEngine.Deferred(r));

        await _f.HandleNextAsync();
        _f.Time.Advance(TimeSpan.FromMinutes(1));
        await _f.HandleNextAsync();
        Assert.Equal(_f.Time.GetUtcNow().AddMinutes(2), (await Record("m1"))!.NextAttemptAt);
        _f.Time.Advance(TimeSpan.FromMinutes(2));
        await _f.HandleNextAsync();

        Assert.Equal(MessageState.Expired, (await Record("m1"))!.State);
        Assert.Equal(2, _f.Engine.Requests.Count);
    }

    [Fact]
    public async Task A_job_found_after_its_deadline_expires_without_sending()
    {
        await _f.AcceptAsync("m1", expiresAt: _f.Time.GetUtcNow().AddMinutes(3));
        _f.Time.Advance(TimeSpan.FromMinutes(4));

        await _f.HandleNextAsync();

        Assert.Empty(_f.Engine.Requests);
        Assert.Equal(MessageState.Expired, (await Record("m1"))!.State);
        Assert.Equal(DeadLetterReasons.Expired, Assert.Single(await _f.Queue.GetDeadLettersAsync(CancellationToken.None)).Reason);
    }

    [Fact]
    public async Task Failed_is_dead_lettered_with_the_reply()
    {
        await _f.AcceptAsync("m1");
        _f.Engine.Then(ScriptedEngine.Failed);

        await _f.HandleNextAsync();

        Assert.Equal(MessageState.Failed, (await Record("m1"))!.State);
        var dead = Assert.Single(await _f.Queue.GetDeadLettersAsync(CancellationToken.None));
        Assert.Equal((DeadLetterReasons.Failed, "550 5.1.1 no such user"), (dead.Reason, dead.Description));
    }

    [Fact]
    public async Task Unknown_is_recorded_and_not_resent_by_default()
    {
        await _f.AcceptAsync("m1");
        _f.Engine.Then(ScriptedEngine.Unknown);

        await _f.HandleNextAsync();

        Assert.Equal(MessageState.Unknown, (await Record("m1"))!.State);
        Assert.Equal(DeadLetterReasons.Unknown, Assert.Single(await _f.Queue.GetDeadLettersAsync(CancellationToken.None)).Reason);
        Assert.Equal((0, 1), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Unknown_is_resent_when_configured()
    {
        _f.Retry.ResendUnknown = true;
        await _f.AcceptAsync("m1");
        _f.Engine.Then(ScriptedEngine.Unknown);

        await _f.HandleNextAsync();
        _f.Time.Advance(TimeSpan.FromMinutes(1));
        await _f.HandleNextAsync();

        Assert.Equal(MessageState.Delivered, (await Record("m1"))!.State);
        Assert.Equal(2, _f.Engine.Requests.Count);
    }

    [Fact]
    public async Task Only_deferred_recipients_are_retried()
    {
        await _f.AcceptAsync("m1", recipients: ["a@example.net", "b@example.net", "c@example.net"]);
        _f.Engine.Then(r => new DeliveryOutcome
        {
            Kind = DeliveryOutcomeKind.Deferred,
            Reason = "452 too many recipients",
            Recipients =
            [
                new RecipientResult("a@example.net", RecipientState.Delivered, new SmtpReply(250, null, "ok")),
                new RecipientResult("b@example.net", RecipientState.Failed, new SmtpReply(550, null, "no")),
                new RecipientResult("c@example.net", RecipientState.Deferred, new SmtpReply(452, null, "later")),
            ],
        });

        await _f.HandleNextAsync();
        _f.Time.Advance(TimeSpan.FromMinutes(1));
        await _f.HandleNextAsync();

        Assert.Equal(["c@example.net"], _f.Engine.Requests[1].Envelope.Recipients);
        var record = (await Record("m1"))!;
        Assert.Equal(MessageState.Delivered, record.State);
        Assert.Equal(
            [("a@example.net", RecipientState.Delivered), ("b@example.net", RecipientState.Failed), ("c@example.net", RecipientState.Delivered)],
            record.Recipients.Select(r => (r.Address, r.State)));
    }

    [Fact]
    public async Task Missing_content_fails_and_is_dead_lettered()
    {
        var job = await _f.AcceptAsync("m1");
        await _f.Content.DeleteAsync(job.ContentReference, CancellationToken.None);

        await _f.HandleNextAsync();

        Assert.Empty(_f.Engine.Requests);
        Assert.Equal(MessageState.Failed, (await Record("m1"))!.State);
        Assert.Equal(DeadLetterReasons.ContentMissing, Assert.Single(await _f.Queue.GetDeadLettersAsync(CancellationToken.None)).Reason);
    }

    [Fact]
    public async Task An_engine_exception_defers_instead_of_losing_the_job()
    {
        await _f.AcceptAsync("m1");
        _f.Engine.Then(_ => throw new InvalidOperationException("boom"));

        await _f.HandleNextAsync();

        var record = (await Record("m1"))!;
        Assert.Equal(MessageState.Deferred, record.State);
        Assert.Equal((1, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_job_handed_out_more_often_than_the_limit_is_dead_lettered_and_its_message_failed_without_sending()
    {
        _f.Worker.MaxDeliveryCount = 2;
        await _f.AcceptAsync("poison");
        for (var i = 0; i < 2; i++)
        {
            Assert.Single(await _f.Queue.LeaseAsync(1, TimeSpan.FromSeconds(1), CancellationToken.None));
            _f.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var third = await _f.HandleNextAsync();

        Assert.Equal(3, third.DeliveryCount);
        Assert.Empty(_f.Engine.Requests);
        var dead = Assert.Single(await _f.Queue.GetDeadLettersAsync(CancellationToken.None));
        Assert.Equal(DeadLetterReasons.TooManyDeliveries, dead.Reason);
        Assert.Equal(MessageState.Failed, (await Record("poison"))!.State);
    }

    [Fact]
    public async Task An_attempt_without_per_recipient_results_applies_its_verdict_to_every_recipient()
    {
        await _f.AcceptAsync("m1", recipients: ["a@example.net", "b@example.net"]);
        _f.Engine.Then(_ => new DeliveryOutcome { Kind = DeliveryOutcomeKind.Failed, Reason = "554 no", Reply = new SmtpReply(554, null, "no") });

        await _f.HandleNextAsync();

        var record = (await Record("m1"))!;
        Assert.Equal(MessageState.Failed, record.State);
        Assert.Equal([("a@example.net", RecipientState.Failed), ("b@example.net", RecipientState.Failed)], record.Recipients.Select(r => (r.Address, r.State)));
    }

    [Fact]
    public async Task Delivered_overall_with_a_deferred_recipient_retries_that_recipient()
    {
        await _f.AcceptAsync("m1", recipients: ["a@example.net", "b@example.net"]);
        _f.Engine.Then(_ => new DeliveryOutcome
        {
            Kind = DeliveryOutcomeKind.Delivered,
            Reason = "250 ok",
            Recipients =
            [
                new RecipientResult("a@example.net", RecipientState.Delivered, new SmtpReply(250, null, "ok")),
                new RecipientResult("b@example.net", RecipientState.Deferred, new SmtpReply(452, null, "later")),
            ],
        });

        await _f.HandleNextAsync();

        Assert.Equal(MessageState.Deferred, (await Record("m1"))!.State);
        _f.Time.Advance(TimeSpan.FromMinutes(1));
        await _f.HandleNextAsync();
        Assert.Equal(["b@example.net"], _f.Engine.Requests[1].Envelope.Recipients);
    }

    [Fact]
    public async Task The_delivery_activity_is_a_child_of_the_request_that_accepted_the_message()
    {
        var stopped = new List<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == DeliveryTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (stopped)
                {
                    stopped.Add(a);
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        const string parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var job = await _f.AcceptAsync("traced");
        var leased = Assert.Single(await _f.Queue.LeaseAsync(1, TimeSpan.FromMinutes(1), CancellationToken.None));

        await _f.Handler.HandleAsync(new TracedContext(leased, leased.Job with { TraceParent = parent, TraceState = "congo=t61rcWkgMzE" }), CancellationToken.None);

        System.Diagnostics.Activity delivery;
        lock (stopped)
        {
            delivery = Assert.Single(stopped, a => a.OperationName == "deliver message" && (string?)a.GetTagItem("mailgateway.message_id") == job.MessageId);
        }

        Assert.Equal("0af7651916cd43dd8448eb211c80319c", delivery.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", delivery.ParentSpanId.ToHexString());
        Assert.Equal("congo=t61rcWkgMzE", delivery.TraceStateString);
        Assert.Equal(System.Diagnostics.ActivityKind.Consumer, delivery.Kind);
    }

    /// <summary>A leased job whose job carries a trace context.</summary>
    private sealed class TracedContext(IDeliveryJobContext inner, DeliveryJob job) : IDeliveryJobContext
    {
        public DeliveryJob Job => job;

        public int DeliveryCount => inner.DeliveryCount;

        public Task CompleteAsync(CancellationToken cancellationToken) => inner.CompleteAsync(cancellationToken);

        public Task RescheduleAsync(DeliveryJob next, DateTimeOffset notBefore, CancellationToken cancellationToken) => inner.RescheduleAsync(next, notBefore, cancellationToken);

        public Task DeadLetterAsync(string reason, string description, CancellationToken cancellationToken) => inner.DeadLetterAsync(reason, description, cancellationToken);
    }

    /// <summary>Observes the status at the moment the handler settles the job.</summary>
    private sealed class ProbeContext(IDeliveryJobContext inner, Func<Task<MessageRecord?>> read) : IDeliveryJobContext
    {
        public MessageState? StateWhenSettled { get; private set; }

        public string? Settlement { get; private set; }

        public DeliveryJob Job => inner.Job;

        public int DeliveryCount => inner.DeliveryCount;

        public async Task CompleteAsync(CancellationToken cancellationToken)
        {
            await Observe("Complete");
            await inner.CompleteAsync(cancellationToken);
        }

        public async Task RescheduleAsync(DeliveryJob next, DateTimeOffset notBefore, CancellationToken cancellationToken)
        {
            await Observe("Reschedule");
            await inner.RescheduleAsync(next, notBefore, cancellationToken);
        }

        public async Task DeadLetterAsync(string reason, string description, CancellationToken cancellationToken)
        {
            await Observe("DeadLetter");
            await inner.DeadLetterAsync(reason, description, cancellationToken);
        }

        private async Task Observe(string settlement)
        {
            Settlement = settlement;
            StateWhenSettled = (await read())?.State;
        }
    }
}

public sealed class DeliveryRetryOptionsTests
{
    [Fact]
    public void A_configured_backoff_replaces_the_default_schedule()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Backoff:0"] = "00:00:02", ["Backoff:1"] = "00:00:10" })
            .Build();
        var options = new DeliveryRetryOptions { JitterFraction = 0 };

        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(configuration, options);

        Assert.Equal([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10)], options.EffectiveBackoff);
        Assert.Equal(TimeSpan.FromSeconds(10), options.BackoffAfter(5, Random.Shared));
    }

    [Fact]
    public void A_zero_delay_is_refused()
    {
        var options = new DeliveryRetryOptions { Backoff = [TimeSpan.Zero] };
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();

        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true));
        Assert.Contains("MailGateway:Delivery:Backoff", Assert.Single(results).ErrorMessage, StringComparison.Ordinal);
    }
}
