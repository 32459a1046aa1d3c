using MailGateway.Core.Delivery;
using MailGateway.Core.Status;
using System.ComponentModel.DataAnnotations;

namespace MailGateway.Embedded.Tests;

/// <summary>The SQLite status store beyond the status-port contract (<c>Contracts/</c>): the purge of expired keys, its options.</summary>
public sealed class SqliteMessageStatusStoreTests : IDisposable
{
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    private MessageRecord Record(string id) =>
        new() { Id = id, Owner = "key1", State = MessageState.Queued, CreatedAt = _f.Time.GetUtcNow(), UpdatedAt = _f.Time.GetUtcNow() };

    [Fact]
    public async Task An_idempotency_key_is_kept_24_hours_then_forgotten()
    {
        await _f.Status.CreateAsync(Record("m1"), new IdempotencyClaim("key1", "k", "h", _f.Time.GetUtcNow()), CancellationToken.None);

        _f.Time.Advance(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));
        var within = await _f.Status.CreateAsync(Record("m2"), new IdempotencyClaim("key1", "k", "h", _f.Time.GetUtcNow()), CancellationToken.None);
        _f.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await _f.Status.PurgeIdempotencyKeysAsync(CancellationToken.None));
        var after = await _f.Status.CreateAsync(Record("m3"), new IdempotencyClaim("key1", "k", "h", _f.Time.GetUtcNow()), CancellationToken.None);

        Assert.Equal((false, "m1"), (within.Created, within.MessageId));
        Assert.Equal((true, "m3"), (after.Created, after.MessageId));
    }

    [Fact]
    public void Idempotency_retention_below_24_hours_is_refused()
    {
        var options = new EmbeddedStorageOptions { IdempotencyKeyRetention = TimeSpan.FromHours(23) };
        var results = new List<ValidationResult>();

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Contains(results, r => r.MemberNames.Contains(nameof(EmbeddedStorageOptions.IdempotencyKeyRetention)));
    }

    [Fact]
    public async Task A_record_stored_by_an_earlier_version_reads_back_and_takes_new_attempts()
    {
        // messages.record as the reflection-based serialiser wrote it (web defaults, enums as names).
        const string earlier = """{"id":"m1","owner":"key1","state":"Deferred","createdAt":"2026-11-28T12:00:00+00:00","updatedAt":"2026-11-28T12:00:05+00:00","sendAt":null,"expiresAt":null,"nextAttemptAt":"2026-11-28T12:01:05+00:00","lastReply":"451 4.3.0 later","attempts":[{"number":1,"startedAt":"2026-11-28T12:00:04+00:00","duration":"00:00:01.5000000","outcome":"Deferred","port":587,"tlsProtocol":"Tls13","reply":"451 4.3.0 later"}],"recipients":[{"address":"b@example.net","state":"Deferred","reply":{"code":451,"enhancedCode":"4.3.0","text":"later","isTransient":true,"isPermanent":false}}],"tags":["a"],"metadata":{"k":"v"}}""";
        await _f.ExecuteAsync("INSERT INTO messages (id, owner, state, updated_at, record) VALUES ('m1', 'key1', 'Deferred', 0, $record)", ("$record", earlier));

        var read = (await _f.Status.GetAsync("m1", CancellationToken.None))!;
        await _f.Status.RecordAttemptAsync("m1", new DeliveryAttemptRecord(2, _f.Time.GetUtcNow(), TimeSpan.FromSeconds(1), DeliveryOutcomeKind.Delivered, 587, "Tls13", "250 ok"),
            MessageState.Delivered, [new RecipientResult("b@example.net", RecipientState.Delivered, new SmtpReply(250, null, "ok"))], null, "250 ok", CancellationToken.None);
        var after = (await _f.Status.GetAsync("m1", CancellationToken.None))!;

        Assert.Equal((MessageState.Deferred, "451 4.3.0 later", TimeSpan.FromMilliseconds(1500)), (read.State, read.LastReply, read.Attempts[0].Duration));
        Assert.Equal(new RecipientResult("b@example.net", RecipientState.Deferred, new SmtpReply(451, "4.3.0", "later")), Assert.Single(read.Recipients));
        Assert.Equal("v", read.Metadata["k"]);
        Assert.Null(read.Envelope);
        Assert.Equal([1, 2], after.Attempts.Select(a => a.Number));
        Assert.Equal(MessageState.Delivered, after.State);
    }
}
