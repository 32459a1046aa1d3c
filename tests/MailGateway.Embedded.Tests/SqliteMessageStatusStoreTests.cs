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
}
