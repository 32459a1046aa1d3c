using MailGateway.Core.Events;
using MailGateway.Core.Status;

namespace MailGateway.Embedded.Tests;

/// <summary>The outbox: events written in the transaction of the state change, read back in a stable order.</summary>
public sealed class SqliteMessageEventStoreTests : IDisposable
{
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    private SqliteMessageEventStore Events => new(_f.Database);

    private Task<IReadOnlyList<MessageEvent>> AllAsync(string? owner = "k", long after = 0, int limit = 1000, string? message = null, IReadOnlyList<string>? types = null) =>
        Events.ReadAsync(new MessageEventQuery(owner, after, limit, message, types), CancellationToken.None);

    [Fact]
    public async Task Accept_deferral_and_delivery_each_write_their_events_with_attempt_port_and_reply()
    {
        await _f.AcceptAsync("m1", recipients: ["a@example.net", "b@example.net"]);
        _f.Engine.Then(r => ScriptedEngine.Deferred(r));
        await _f.HandleNextAsync();
        _f.Time.Advance(TimeSpan.FromHours(1));
        await _f.HandleNextAsync();

        var events = await AllAsync();

        Assert.Equal(
            [("accepted", null), ("deferred", "a@example.net"), ("deferred", "b@example.net"), ("deferred", null),
             ("delivered", "a@example.net"), ("delivered", "b@example.net"), ("delivered", null)],
            events.Select(e => (e.Type, e.Recipient)));
        Assert.Equal(events.Select(e => e.Sequence).Order(), events.Select(e => e.Sequence));
        var delivered = events[^1];
        Assert.Equal((2, 587, "250 2.0.0 OK queued", "m1"), (delivered.Attempt, delivered.Port, delivered.Reply, delivered.MessageId));
        Assert.Equal("451 4.3.0 try later", events[1].Reply);
        Assert.Null(events[0].Attempt);
    }

    [Fact]
    public async Task Expiry_failure_and_unknown_write_one_event_each()
    {
        await _f.AcceptAsync("expired", expiresAt: _f.Time.GetUtcNow() + TimeSpan.FromMinutes(1));
        _f.Time.Advance(TimeSpan.FromMinutes(2));
        await _f.HandleNextAsync();
        await _f.AcceptAsync("failed");
        _f.Engine.Then(r => ScriptedEngine.Failed(r));
        await _f.HandleNextAsync();
        await _f.AcceptAsync("unknown");
        _f.Engine.Then(r => ScriptedEngine.Unknown(r));
        await _f.HandleNextAsync();

        var messageEvents = (await AllAsync()).Where(e => e.Recipient is null).Select(e => (e.MessageId, e.Type));

        Assert.Equal(
            [("expired", "accepted"), ("expired", "expired"), ("failed", "accepted"), ("failed", "failed"), ("unknown", "accepted"), ("unknown", "unknown")],
            messageEvents);
    }

    [Fact]
    public async Task A_scheduled_message_writes_accepted_and_scheduled_with_its_tags_and_metadata()
    {
        var now = _f.Time.GetUtcNow();
        await _f.Status.CreateAsync(new MessageRecord
        {
            Id = "s1", Owner = "k", State = MessageState.Scheduled, CreatedAt = now, UpdatedAt = now, SendAt = now.AddHours(1),
            Tags = ["welcome"], Metadata = new Dictionary<string, string> { ["user"] = "42" },
        }, null, CancellationToken.None);

        var events = await AllAsync();

        Assert.Equal(["accepted", "scheduled"], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(("welcome", "42"), (Assert.Single(e.Tags), e.Metadata["user"])));
    }

    [Fact]
    public async Task A_state_change_that_does_not_commit_writes_no_event()
    {
        await _f.AcceptAsync("m1");
        // The status write fails inside its transaction: no event may exist for it.
        await _f.ExecuteAsync("CREATE TRIGGER refuse_updates BEFORE UPDATE ON messages WHEN NEW.state = 'Delivered' BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
        await Assert.ThrowsAnyAsync<Exception>(() => _f.Status.RecordAttemptAsync("m1",
            new DeliveryAttemptRecord(1, _f.Time.GetUtcNow(), TimeSpan.Zero, Core.Delivery.DeliveryOutcomeKind.Delivered, 587, null, "250 ok"),
            MessageState.Delivered, [new Core.Delivery.RecipientResult("b@example.net", Core.Delivery.RecipientState.Delivered, null)], null, "250 ok", CancellationToken.None));
        // Nor does a failing event insert leave the state change behind.
        await _f.ExecuteAsync("CREATE TRIGGER refuse_events BEFORE INSERT ON events WHEN NEW.type = 'expired' BEGIN SELECT RAISE(ABORT, 'outbox says no'); END");
        await Assert.ThrowsAnyAsync<Exception>(() => _f.Status.SetStateAsync("m1", MessageState.Expired, "too old", CancellationToken.None));

        Assert.Equal(["accepted"], (await AllAsync()).Select(e => e.Type));
        Assert.Equal(MessageState.Queued, (await _f.Status.GetAsync("m1", CancellationToken.None))!.State);
    }

    [Fact]
    public async Task Pages_follow_the_cursor_in_order_filtered_by_owner_message_and_type()
    {
        var now = _f.Time.GetUtcNow();
        for (var i = 0; i < 5; i++)
        {
            await _f.Status.CreateAsync(new MessageRecord { Id = "a" + i, Owner = "k", State = MessageState.Queued, CreatedAt = now, UpdatedAt = now }, null, CancellationToken.None);
            await _f.Status.CreateAsync(new MessageRecord { Id = "b" + i, Owner = "other", State = MessageState.Scheduled, CreatedAt = now, UpdatedAt = now }, null, CancellationToken.None);
        }

        var first = await AllAsync(limit: 2);
        var second = await AllAsync(after: first[^1].Sequence, limit: 2);
        var third = await AllAsync(after: second[^1].Sequence, limit: 2);
        var others = await AllAsync(owner: "other", types: ["scheduled"]);

        Assert.Equal(["a0", "a1", "a2", "a3", "a4"], first.Concat(second).Concat(third).Select(e => e.MessageId));
        Assert.Single(third);
        Assert.Equal(["b0", "b1", "b2", "b3", "b4"], others.Select(e => e.MessageId));
        Assert.Equal(["accepted", "scheduled"], (await AllAsync(owner: "other", message: "b3")).Select(e => e.Type));
        Assert.Empty(await AllAsync(owner: "k", message: "b3"));
        Assert.Equal(10 + 5, (await AllAsync(owner: null)).Count);
    }

    [Fact]
    public void Event_ids_are_sortable_and_parse_back_and_anything_else_is_refused()
    {
        Assert.Equal("evt_0000000000000042", MessageEventIds.Format(42));
        Assert.True(string.CompareOrdinal(MessageEventIds.Format(9), MessageEventIds.Format(10)) < 0);
        Assert.True(MessageEventIds.TryParse("evt_0000000000000042", out var parsed));
        Assert.Equal(42, parsed);
        Assert.All(["", "evt_42", "evt_000000000000004x", "EVT_0000000000000042", "evt_-000000000000042", "evt_00000000000000420"], bad => Assert.False(MessageEventIds.TryParse(bad, out _)));
    }
}
