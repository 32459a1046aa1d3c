using MailGateway.Core.Bounces;
using MailGateway.Core.Delivery;
using MailGateway.Core.Events;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Suppressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded.Tests;

/// <summary>The SQLite suppression list and bounce recorder on a real database file, with the delivery handler that asks them.</summary>
public sealed class SqliteSuppressionListTests : IDisposable
{
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    private SqliteSuppressionList List => new(_f.Database);

    [Fact]
    public async Task Expiry_is_honoured_by_find_and_list()
    {
        var now = _f.Time.GetUtcNow();
        await List.AddAsync(new SuppressionEntry("k", "soon@example.net", SuppressionReasons.Manual, now, now.AddHours(1)), CancellationToken.None);
        await List.AddAsync(new SuppressionEntry("k", "never@example.net", SuppressionReasons.Manual, now, null), CancellationToken.None);
        string[] both = ["soon@example.net", "never@example.net", "other@example.net"];

        Assert.Equal(["never@example.net", "soon@example.net"], (await List.FindAsync("k", both, now, CancellationToken.None)).Order());
        Assert.Equal(["never@example.net", "soon@example.net"], (await List.ListAsync(new SuppressionQuery("k", now, null, 10), CancellationToken.None)).Select(e => e.Address));

        var later = now.AddHours(1);
        Assert.Equal(["never@example.net"], await List.FindAsync("k", both, later, CancellationToken.None));
        Assert.Equal(["never@example.net"], (await List.ListAsync(new SuppressionQuery("k", later, null, 10), CancellationToken.None)).Select(e => e.Address));
    }

    [Fact]
    public async Task Entries_belong_to_one_key_and_match_any_case_and_a_second_add_replaces_the_first()
    {
        var now = _f.Time.GetUtcNow();
        await List.AddAsync(new SuppressionEntry("k", "Bob@Example.NET", SuppressionReasons.Manual, now, now.AddMinutes(1)), CancellationToken.None);
        await List.AddAsync(new SuppressionEntry("k", "bob@example.net", SuppressionReasons.HardBounce, now, null, "550 5.1.1 x", "m1"), CancellationToken.None);

        Assert.Equal(["BOB@example.net"], await List.FindAsync("k", ["BOB@example.net"], now.AddDays(1), CancellationToken.None));
        Assert.Empty(await List.FindAsync("other", ["bob@example.net"], now, CancellationToken.None));
        var entry = Assert.Single(await List.ListAsync(new SuppressionQuery(null, now, null, 10), CancellationToken.None));
        Assert.Equal(("k", "bob@example.net", SuppressionReasons.HardBounce, (DateTimeOffset?)null, "m1"), (entry.Owner, entry.Address, entry.Reason, entry.ExpiresAt, entry.MessageId));

        Assert.False(await List.RemoveAsync("other", "bob@example.net", CancellationToken.None));
        Assert.True(await List.RemoveAsync("k", "BOB@example.net", CancellationToken.None));
        Assert.Empty(await List.FindAsync("k", ["bob@example.net"], now, CancellationToken.None));
    }

    [Fact]
    public async Task The_handler_does_not_send_to_a_suppressed_address_until_its_entry_expires()
    {
        var handler = Handler(List);
        var now = _f.Time.GetUtcNow();
        await List.AddAsync(new SuppressionEntry("k", "b@example.net", SuppressionReasons.Manual, now, now.AddHours(1)), CancellationToken.None);

        await _f.AcceptAsync("m1");
        await HandleNextAsync(handler);
        var suppressed = (await _f.Status.GetAsync("m1", CancellationToken.None))!;
        Assert.Equal(MessageState.Suppressed, suppressed.State);
        Assert.Equal(RecipientState.Suppressed, Assert.Single(suppressed.Recipients).State);
        Assert.Empty(_f.Engine.Requests);
        var events = await new SqliteMessageEventStore(_f.Database).ReadAsync(new MessageEventQuery("k", 0, 100, "m1"), CancellationToken.None);
        Assert.Equal([("accepted", null), ("suppressed", "b@example.net"), ("suppressed", null)], events.Select(e => (e.Type, e.Recipient)));

        _f.Time.Advance(TimeSpan.FromHours(1));
        await _f.AcceptAsync("m2");
        await HandleNextAsync(handler);
        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("m2", CancellationToken.None))!.State);
        Assert.Single(_f.Engine.Requests);
    }

    [Fact]
    public async Task A_retry_whose_waiting_recipient_was_suppressed_meanwhile_ends_delivered_when_another_recipient_was()
    {
        var handler = Handler(List);
        await _f.AcceptAsync("m1", recipients: ["a@example.net", "b@example.net"]);
        _f.Engine.Then(r => new DeliveryOutcome
        {
            Kind = DeliveryOutcomeKind.Deferred,
            Reason = "one deferred",
            Recipients = [new RecipientResult("a@example.net", RecipientState.Delivered, null), new RecipientResult("b@example.net", RecipientState.Deferred, new SmtpReply(451, "4.2.0", "later"))],
        });
        await HandleNextAsync(handler);
        await List.AddAsync(new SuppressionEntry("k", "b@example.net", SuppressionReasons.Manual, _f.Time.GetUtcNow(), null), CancellationToken.None);
        _f.Time.Advance(TimeSpan.FromHours(1));
        await HandleNextAsync(handler);

        var record = (await _f.Status.GetAsync("m1", CancellationToken.None))!;
        Assert.Equal(MessageState.Delivered, record.State);
        Assert.Equal([RecipientState.Delivered, RecipientState.Suppressed], record.Recipients.Select(r => r.State));
        Assert.Single(_f.Engine.Requests);
        Assert.Empty(await _f.Queue.LeaseAsync(1, TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task A_5_1_1_refusal_suppresses_the_recipient_but_a_5_7_1_or_a_sender_problem_does_not()
    {
        var handler = Handler(List);
        await _f.AcceptAsync("m1", recipients: ["gone@example.net", "policy@example.net", "sender@example.net"]);
        _f.Engine.Then(r => new DeliveryOutcome
        {
            Kind = DeliveryOutcomeKind.Failed,
            Reason = "refused",
            Recipients =
            [
                new RecipientResult("gone@example.net", RecipientState.Failed, new SmtpReply(550, "5.1.1", "no such user")),
                new RecipientResult("policy@example.net", RecipientState.Failed, new SmtpReply(550, "5.7.1", "refused")),
                new RecipientResult("sender@example.net", RecipientState.Failed, new SmtpReply(550, "5.1.8", "bad sender domain")),
            ],
        });
        await HandleNextAsync(handler);

        var entry = Assert.Single(await List.ListAsync(new SuppressionQuery("k", _f.Time.GetUtcNow(), null, 10), CancellationToken.None));
        Assert.Equal(("gone@example.net", SuppressionReasons.HardBounce, "m1"), (entry.Address, entry.Reason, entry.MessageId));
        Assert.Equal("550 5.1.1 no such user", entry.Detail);
    }

    [Fact]
    public async Task A_bounce_makes_the_recipient_bounced_adds_the_entry_and_writes_the_event_in_one_transaction()
    {
        var now = _f.Time.GetUtcNow();
        await _f.Status.CreateAsync(new MessageRecord
        {
            Id = "0123456789abcdef0123456789abcdef", Owner = "k", State = MessageState.Delivered, CreatedAt = now, UpdatedAt = now,
            Envelope = new Envelope("a@example.com", ["a@example.net", "b@example.net"]),
            Recipients = [new RecipientResult("a@example.net", RecipientState.Delivered, null), new RecipientResult("b@example.net", RecipientState.Delivered, null)],
        }, null, CancellationToken.None);
        var recorder = new SqliteBounceRecorder(_f.Database, _f.Time);
        var report = new BounceReport(BounceReportKind.Failed, "5.1.1", "550 5.1.1 <b@example.net>: User unknown", "b@example.net");

        Assert.Equal(BounceRecordOutcome.Applied, await recorder.RecordAsync(new BounceNotice("0123456789abcdef0123456789abcdef", 1, report, now, "in1"), CancellationToken.None));
        Assert.Equal(BounceRecordOutcome.UnknownRecipient, await recorder.RecordAsync(new BounceNotice("0123456789abcdef0123456789abcdef", 2, report, now, "in2"), CancellationToken.None));
        Assert.Equal(BounceRecordOutcome.UnknownMessage, await recorder.RecordAsync(new BounceNotice("ffffffffffffffffffffffffffffffff", 0, report, now, "in3"), CancellationToken.None));

        var record = (await _f.Status.GetAsync("0123456789abcdef0123456789abcdef", CancellationToken.None))!;
        Assert.Equal(MessageState.Delivered, record.State);
        Assert.Equal([RecipientState.Delivered, RecipientState.Bounced], record.Recipients.Select(r => r.State));
        Assert.Equal(new SmtpReply(550, "5.1.1", "<b@example.net>: User unknown"), record.Recipients[1].Reply);
        var entry = Assert.Single(await List.ListAsync(new SuppressionQuery(null, now, null, 10), CancellationToken.None));
        Assert.Equal(("k", "b@example.net", SuppressionReasons.Bounce), (entry.Owner, entry.Address, entry.Reason));
        var events = await new SqliteMessageEventStore(_f.Database).ReadAsync(new MessageEventQuery("k", 0, 100, Types: [MessageEventTypes.Bounced]), CancellationToken.None);
        Assert.Equal("b@example.net", Assert.Single(events).Recipient);
    }

    [Fact]
    public async Task An_empty_list_is_answered_without_a_query_until_an_add_or_a_bounce_of_any_instance_fills_it()
    {
        var now = _f.Time.GetUtcNow();
        var reader = List;
        Assert.Empty(await reader.FindAsync("k", ["a@example.net"], now, CancellationToken.None)); // the table is empty: remembered

        // Another instance on the same database (the API's, the delivery handler's): the reader sees its add.
        await List.AddAsync(new SuppressionEntry("k", "a@example.net", SuppressionReasons.Manual, now, null), CancellationToken.None);
        Assert.Equal(["a@example.net"], await reader.FindAsync("k", ["a@example.net"], now, CancellationToken.None));

        // A second database: its own state, and a bounce (written by the recorder, not the list) is seen too.
        using var other = new EmbeddedFixture();
        var otherList = new SqliteSuppressionList(other.Database);
        Assert.Empty(await otherList.FindAsync("k", ["b@example.net"], now, CancellationToken.None));
        await other.Status.CreateAsync(new MessageRecord
        {
            Id = "0123456789abcdef0123456789abcdef", Owner = "k", State = MessageState.Delivered, CreatedAt = now, UpdatedAt = now,
            Envelope = new Envelope("a@example.com", ["b@example.net"]),
            Recipients = [new RecipientResult("b@example.net", RecipientState.Delivered, null)],
        }, null, CancellationToken.None);
        var report = new BounceReport(BounceReportKind.Failed, "5.1.1", "550 5.1.1 <b@example.net>: User unknown", "b@example.net");
        Assert.Equal(BounceRecordOutcome.Applied, await new SqliteBounceRecorder(other.Database, other.Time)
            .RecordAsync(new BounceNotice("0123456789abcdef0123456789abcdef", 0, report, now, "in1"), CancellationToken.None));
        Assert.Equal(["b@example.net"], await otherList.FindAsync("k", ["b@example.net"], now, CancellationToken.None));
    }

    private DeliveryJobHandler Handler(ISuppressionList list) => new(
        _f.Store, _f.Status, _f.Recorder, _f.Engine, new StaticOptionsMonitor<DeliveryRetryOptions>(_f.Retry), Options.Create(_f.Worker), _f.Time,
        NullLogger<DeliveryJobHandler>.Instance, list, new BounceAddresses(Options.Create(new BounceOptions())));

    private async Task HandleNextAsync(DeliveryJobHandler handler)
    {
        var leased = await _f.Queue.LeaseAsync(1, TimeSpan.FromMinutes(15), CancellationToken.None);
        await handler.HandleAsync(Assert.Single(leased), CancellationToken.None);
    }
}
