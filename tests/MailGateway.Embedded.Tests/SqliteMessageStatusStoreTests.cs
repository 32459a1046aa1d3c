using MailGateway.Core.Delivery;
using MailGateway.Core.Status;
using System.ComponentModel.DataAnnotations;

namespace MailGateway.Embedded.Tests;

public sealed class SqliteMessageStatusStoreTests : IDisposable
{
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    private MessageRecord Record(string id) =>
        new() { Id = id, Owner = "key1", State = MessageState.Queued, CreatedAt = _f.Time.GetUtcNow(), UpdatedAt = _f.Time.GetUtcNow() };

    [Fact]
    public async Task Racing_creates_with_one_idempotency_key_create_one_record()
    {
        var claims = Enumerable.Range(0, 16).Select(i => Task.Run(() =>
            _f.Status.CreateAsync(Record("m" + i), new IdempotencyClaim("key1", "order-42", "hash", _f.Time.GetUtcNow()), CancellationToken.None)));

        var results = await Task.WhenAll(claims);

        var winner = Assert.Single(results, r => r.Created);
        Assert.All(results, r => Assert.Equal(winner.MessageId, r.MessageId));
        Assert.All(results, r => Assert.Equal("hash", r.RequestHash));
        Assert.Equal(15, results.Count(r => !r.Created));
    }

    [Fact]
    public async Task Idempotency_keys_are_scoped_to_the_api_key()
    {
        var a = await _f.Status.CreateAsync(Record("m1"), new IdempotencyClaim("key1", "k", "h1", _f.Time.GetUtcNow()), CancellationToken.None);
        var b = await _f.Status.CreateAsync(Record("m2") with { Owner = "key2" }, new IdempotencyClaim("key2", "k", "h2", _f.Time.GetUtcNow()), CancellationToken.None);

        Assert.True(a.Created);
        Assert.True(b.Created);
    }

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

    [Theory]
    [InlineData(MessageState.Delivered)]
    [InlineData(MessageState.Failed)]
    [InlineData(MessageState.Expired)]
    [InlineData(MessageState.Unknown)]
    public async Task Begin_sending_leaves_a_final_state_alone(MessageState final)
    {
        await _f.Status.CreateAsync(Record("m1"), null, CancellationToken.None);
        await _f.Status.SetStateAsync("m1", final, "done", CancellationToken.None);

        var before = await _f.Status.TryBeginSendingAsync("m1", CancellationToken.None);

        Assert.Equal(final, before!.State);
        Assert.Equal(final, (await _f.Status.GetAsync("m1", CancellationToken.None))!.State);
    }

    [Fact]
    public async Task Attempts_are_appended_with_port_tls_and_reply()
    {
        await _f.Status.CreateAsync(Record("m1") with { Tags = ["a"], Metadata = new Dictionary<string, string> { ["k"] = "v" } }, null, CancellationToken.None);
        var before = await _f.Status.TryBeginSendingAsync("m1", CancellationToken.None);
        var reply = new SmtpReply(451, "4.3.0", "later");
        await _f.Status.RecordAttemptAsync("m1", new DeliveryAttemptRecord(1, _f.Time.GetUtcNow(), TimeSpan.FromSeconds(1), DeliveryOutcomeKind.Deferred, 587, "Tls13", reply.ToString()),
            MessageState.Deferred, [new RecipientResult("b@example.net", RecipientState.Deferred, reply)], _f.Time.GetUtcNow().AddMinutes(1), reply.ToString(), CancellationToken.None);
        await _f.Status.RecordAttemptAsync("m1", new DeliveryAttemptRecord(2, _f.Time.GetUtcNow(), TimeSpan.FromSeconds(1), DeliveryOutcomeKind.Delivered, 465, "Tls12", "250 ok"),
            MessageState.Delivered, [new RecipientResult("b@example.net", RecipientState.Delivered, new SmtpReply(250, null, "ok"))], null, "250 ok", CancellationToken.None);

        var record = (await _f.Status.GetAsync("m1", CancellationToken.None))!;
        Assert.Equal(MessageState.Queued, before!.State);
        Assert.Equal(MessageState.Delivered, record.State);
        Assert.Equal([(587, "Tls13"), (465, "Tls12")], record.Attempts.Select(a => (a.Port!.Value, a.TlsProtocol!)));
        Assert.Equal(RecipientState.Delivered, Assert.Single(record.Recipients).State);
        Assert.Equal(["a"], record.Tags);
        Assert.Equal("v", record.Metadata["k"]);
    }
}
