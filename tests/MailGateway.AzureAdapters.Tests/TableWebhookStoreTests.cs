using System.Globalization;
using Azure.Data.Tables;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.AzureAdapters.Webhooks;
using MailGateway.Core.Webhooks;
using MailGateway.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.AzureAdapters.Tests;

/// <summary>The webhook endpoints and their delivery state in Table storage, on Azurite: each test has its own table.</summary>
public sealed class TableWebhookStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<AzureStorageOptions> OptionsAsync()
    {
        var options = await StorageFixtures.OptionsAsync();
        options.WebhookTable = AzuriteServer.UniqueName("hooks");
        return options;
    }

    private static TableWebhookStore Store(AzureStorageOptions options, TimeProvider time) =>
        new(new TableServiceClient(options.ConnectionString), Options.Create(options), time);

    private static TableClient Table(AzureStorageOptions options) =>
        new TableServiceClient(options.ConnectionString).GetTableClient(options.WebhookTable);

    private static WebhookDefinition Definition(string owner, DateTimeOffset createdAt, string? id = null, params string[] types) =>
        new(id ?? WebhookDefinition.NewId(), owner, "https://hooks.example.net/" + owner, types, true, "whsec_" + Guid.NewGuid().ToString("N"), null, null, createdAt);

    private static void AssertSame(WebhookDefinition expected, WebhookDefinition? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { EventTypes = [] }, actual with { EventTypes = [] });
        Assert.Equal(expected.EventTypes, actual.EventTypes);
    }

    private static long CursorTicks(string cursor) => long.Parse(cursor.AsSpan(4, 19), NumberStyles.None, CultureInfo.InvariantCulture);

    [Fact]
    public async Task Create_get_list_update_reset_and_delete_round_trip()
    {
        var time = new FakeTimeProvider(Now);
        var store = Store(await OptionsAsync(), time);
        var older = Definition("key-1", Now.AddMinutes(-5), "wh_ffffffffffffffffffffffff", "message.delivered", "message.bounced");
        var newer = Definition("key-1", Now, "wh_000000000000000000000000");
        var other = Definition("key-2", Now.AddMinutes(-1));

        Assert.Equal(WebhookCreateOutcome.Created, await store.CreateAsync(newer, 10, None));
        Assert.Equal(WebhookCreateOutcome.Created, await store.CreateAsync(older, 10, None));
        Assert.Equal(WebhookCreateOutcome.Created, await store.CreateAsync(other, 10, None));

        AssertSame(older, await store.GetAsync(older.Id, None));
        AssertSame(newer, await store.GetAsync(newer.Id, None));
        Assert.Equal([older.Id, newer.Id], (await store.ListAsync("key-1", None)).Select(d => d.Id));
        Assert.Equal([older.Id, other.Id, newer.Id], (await store.ListAsync(null, None)).Select(d => d.Id));
        AssertSame(older, (await store.ListAsync("key-1", None))[0]);
        Assert.Equal([], (await store.GetAsync(newer.Id, None))!.EventTypes);

        // The dispatcher fails a while, then the endpoint is changed (id, owner and creation time cannot be).
        var failing = new WebhookEndpointState(older.Id, 7, 4, Now.AddMinutes(-3), Now.AddMinutes(2), 500, "500 Internal Server Error", true, TableEventFeed.CursorAt(Now.AddMinutes(-4)));
        await store.SaveAsync(failing, None);
        var rotatedUntil = Now.AddDays(1);
        var updated = await store.UpdateAsync(older.Id, d => d with
        {
            Id = "wh_111111111111111111111111", Owner = "key-2", CreatedAt = Now.AddYears(1), Url = "https://other.example.net/in",
            EventTypes = ["message.failed"], Enabled = false, Secret = "whsec_new", PreviousSecret = d.Secret, PreviousSecretExpiresAt = rotatedUntil,
        }, resetDeliveryState: false, None);
        var expected = older with
        {
            Url = "https://other.example.net/in", EventTypes = ["message.failed"], Enabled = false, Secret = "whsec_new", PreviousSecret = older.Secret,
            PreviousSecretExpiresAt = rotatedUntil,
        };
        AssertSame(expected, updated);
        AssertSame(expected, await store.GetAsync(older.Id, None));
        Assert.Equal(failing, await store.FindAsync(older.Id, None)); // the state stays without a reset
        Assert.Equal([older.Id, newer.Id], (await store.ListAsync("key-1", None)).Select(d => d.Id));

        // A reset clears the failures and the disabled state, keeps the cursor and the last answer.
        var reset = await store.UpdateAsync(older.Id, d => d with { Enabled = true, PreviousSecret = null, PreviousSecretExpiresAt = null }, resetDeliveryState: true, None);
        AssertSame(older with { Url = expected.Url, EventTypes = expected.EventTypes, Secret = "whsec_new" }, reset);
        AssertSame(reset!, await store.GetAsync(older.Id, None));
        Assert.Equal(failing with { Failures = 0, FailingSince = null, NextAttemptAt = null, Disabled = false, Resets = 1 }, await store.FindAsync(older.Id, None));

        Assert.Null(await store.UpdateAsync("wh_999999999999999999999999", d => d, true, None));
        Assert.Null(await store.UpdateAsync("endpoint-0", d => d, true, None));

        Assert.True(await store.DeleteAsync(older.Id, None));
        Assert.False(await store.DeleteAsync(older.Id, None));
        Assert.False(await store.DeleteAsync("wh_999999999999999999999999", None));
        Assert.Null(await store.GetAsync(older.Id, None));
        Assert.Null(await store.FindAsync(older.Id, None));
        Assert.Null(await store.UpdateAsync(older.Id, d => d, false, None));
        Assert.Equal([newer.Id], (await store.ListAsync("key-1", None)).Select(d => d.Id));
        Assert.Equal([other.Id, newer.Id], (await store.ListAsync(null, None)).Select(d => d.Id));
    }

    [Fact]
    public async Task Endpoints_created_at_the_same_time_are_listed_by_id()
    {
        var store = Store(await OptionsAsync(), new FakeTimeProvider(Now));
        string[] ids = ["wh_bbbbbbbbbbbbbbbbbbbbbbbb", "wh_aaaaaaaaaaaaaaaaaaaaaaaa", "wh_cccccccccccccccccccccccc"];
        foreach (var id in ids)
        {
            await store.CreateAsync(Definition("key-1", Now, id), 10, None);
        }

        Assert.Equal(ids.Order(StringComparer.Ordinal), (await store.ListAsync("key-1", None)).Select(d => d.Id));
    }

    [Fact]
    public async Task A_new_state_starts_at_the_feed_cursor_of_its_creation()
    {
        var options = await OptionsAsync();
        var store = Store(options, TimeProvider.System);
        var definition = Definition("key-1", DateTimeOffset.UtcNow);

        var before = DateTimeOffset.UtcNow.UtcTicks;
        await store.CreateAsync(definition, 10, None);
        var configured = await store.GetOrCreateAsync("endpoint-0", None);
        var after = DateTimeOffset.UtcNow.UtcTicks;

        foreach (var state in new[] { (await store.FindAsync(definition.Id, None))!, configured, (await store.FindAsync("endpoint-0", None))! })
        {
            Assert.NotNull(state.AfterId);
            Assert.True(TableEventFeed.IsCursor(state.AfterId), state.AfterId);
            Assert.InRange(CursorTicks(state.AfterId), before - 1, after);
            Assert.Equal(0, state.After);
            Assert.Equal(0, state.Failures);
            Assert.False(state.Disabled);
            Assert.Null(state.FailingSince);
            Assert.Null(state.NextAttemptAt);
            Assert.Null(state.LastStatus);
            Assert.Null(state.LastError);
            Assert.Equal(state.AfterId, state.Cursor);
        }

        Assert.Equal(definition.Id, (await store.FindAsync(definition.Id, None))!.Name);
        Assert.Equal("endpoint-0", configured.Name);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_saved_state_is_found_with_every_field_and_a_cleared_one_without_them(bool api)
    {
        var time = new FakeTimeProvider(Now);
        var options = await OptionsAsync();
        var store = Store(options, time);
        var definition = Definition("key-1", Now);
        await store.CreateAsync(definition, 10, None);
        var name = api ? definition.Id : "ops/alerts #1";
        var created = await store.GetOrCreateAsync(name, None);

        var failing = new WebhookEndpointState(name, 42, 3, Now.AddMinutes(-10), Now.AddMinutes(5), 503, "503 Service Unavailable: try later", true,
            TableEventFeed.CursorAt(Now.AddHours(-1)));
        await store.SaveAsync(failing, None);
        Assert.Equal(failing, await store.FindAsync(name, None));
        Assert.Equal(failing, await store.GetOrCreateAsync(name, None));
        Assert.Equal(failing, await Store(options, time).FindAsync(name, None));

        var cleared = new WebhookEndpointState(name, 43, 0, null, null, null, null, false, null);
        await store.SaveAsync(cleared, None);
        Assert.Equal(cleared, await store.FindAsync(name, None));

        AssertSame(definition, await store.GetAsync(definition.Id, None)); // saving a state leaves the definition
        Assert.NotEqual(created, cleared);
        Assert.Equal([definition.Id], (await store.ListAsync(null, None)).Select(d => d.Id)); // a configured state is no endpoint
    }

    [Fact]
    public async Task A_state_saved_after_its_endpoint_was_deleted_stays_deleted()
    {
        var options = await OptionsAsync();
        var store = Store(options, new FakeTimeProvider(Now));
        var definition = Definition("key-1", Now);
        await store.CreateAsync(definition, 10, None);
        var state = (await store.FindAsync(definition.Id, None))!;

        // Deleted through another host (this one still knows the endpoint's partition), and through this one.
        Assert.True(await Store(options, new FakeTimeProvider(Now)).DeleteAsync(definition.Id, None));
        await store.SaveAsync(state with { After = 5, Failures = 1 }, None);
        await Store(options, new FakeTimeProvider(Now)).SaveAsync(state with { After = 6 }, None);

        Assert.Null(await store.FindAsync(definition.Id, None));
        Assert.Null(await store.GetAsync(definition.Id, None));
        Assert.Empty(await store.ListAsync(null, None));
        var rows = await Table(options).QueryAsync<TableEntity>(maxPerPage: 100).ToListAsync();
        Assert.Equal([TableWebhookStore.GuardRow], rows.Select(r => r.RowKey));
    }

    [Fact]
    public async Task Get_or_create_of_a_configured_name_creates_its_state_once()
    {
        var options = await OptionsAsync();
        var time = new FakeTimeProvider(Now);
        var store = Store(options, time);

        var first = await store.GetOrCreateAsync("endpoint-0", None);
        time.Advance(TimeSpan.FromMinutes(10));
        var second = await store.GetOrCreateAsync("endpoint-0", None);
        var elsewhere = await Store(options, time).GetOrCreateAsync("endpoint-0", None);

        Assert.Equal(TableEventFeed.CursorAt(Now), first.AfterId);
        Assert.Equal(first, second);
        Assert.Equal(first, elsewhere);
        Assert.NotEqual(first, await store.GetOrCreateAsync("endpoint-1", None));
        var rows = await Table(options).QueryAsync<TableEntity>(maxPerPage: 100).ToListAsync();
        Assert.Equal(["endpoint-0", "endpoint-1"], rows.Select(r => r.RowKey).Order(StringComparer.Ordinal));
        Assert.All(rows, r => Assert.Equal(TableWebhookStore.ConfiguredPartition, r.PartitionKey));
        Assert.Empty(await store.ListAsync(null, None));
        Assert.Null(await store.GetAsync("endpoint-0", None)); // configured endpoints are not in the registry
        Assert.False(await store.DeleteAsync("endpoint-0", None));
        Assert.Equal(first, await store.FindAsync("endpoint-0", None));
    }

    [Fact]
    public async Task Concurrent_creates_never_exceed_the_maximum_per_owner()
    {
        var options = await OptionsAsync();
        var time = new FakeTimeProvider(Now);
        var stores = Enumerable.Range(0, 5).Select(_ => Store(options, time)).ToList();
        using var start = new SemaphoreSlim(0);

        var creates = Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            await start.WaitAsync();
            return await stores[i % stores.Count].CreateAsync(Definition("key-1", Now.AddSeconds(i)), 3, None);
        })).ToList();
        start.Release(creates.Count);
        var outcomes = await Task.WhenAll(creates);

        Assert.Equal(3, outcomes.Count(o => o == WebhookCreateOutcome.Created));
        Assert.Equal(7, outcomes.Count(o => o == WebhookCreateOutcome.TooMany));
        Assert.Equal(3, (await stores[0].ListAsync("key-1", None)).Count);
        Assert.Equal(WebhookCreateOutcome.TooMany, await stores[0].CreateAsync(Definition("key-1", Now), 3, None));
        Assert.Equal(WebhookCreateOutcome.Created, await stores[0].CreateAsync(Definition("key-2", Now), 3, None));

        // A deleted endpoint frees its place.
        Assert.True(await stores[1].DeleteAsync((await stores[0].ListAsync("key-1", None))[0].Id, None));
        Assert.Equal(WebhookCreateOutcome.Created, await stores[2].CreateAsync(Definition("key-1", Now), 3, None));
        Assert.Equal(WebhookCreateOutcome.TooMany, await stores[3].CreateAsync(Definition("key-1", Now), 3, None));
        Assert.Equal(WebhookCreateOutcome.TooMany, await stores[3].CreateAsync(Definition("key-3", Now), 0, None));
        Assert.Equal(4, (await stores[4].ListAsync(null, None)).Count);
    }

    [Fact]
    public async Task A_failure_saved_from_a_state_read_before_a_reset_keeps_the_reset_and_moves_the_cursor_forward()
    {
        var options = await OptionsAsync();
        var time = new FakeTimeProvider(Now);
        var store = Store(options, time);
        var definition = Definition("key-1", Now);
        await store.CreateAsync(definition, 10, None);
        var start = (await store.FindAsync(definition.Id, None))!;
        await store.SaveAsync(start with { After = 5, Failures = 3, FailingSince = Now, NextAttemptAt = Now.AddHours(1), LastStatus = 500 }, None);
        // The dispatcher reads the state and sends a page; meanwhile the operator resets the endpoint.
        var read = (await store.FindAsync(definition.Id, None))!;
        Assert.NotNull(await store.UpdateAsync(definition.Id, d => d, resetDeliveryState: true, None));
        var laterId = TableEventFeed.CursorAt(Now.AddMinutes(1));
        await store.SaveAsync(read with { After = 7, AfterId = laterId, Failures = 4, Disabled = true, LastStatus = 503 }, None);

        var after = (await store.FindAsync(definition.Id, None))!;
        Assert.Equal((7L, laterId, 0, false, (DateTimeOffset?)null, (DateTimeOffset?)null, 1L),
            (after.After, after.AfterId, after.Failures, after.Disabled, after.FailingSince, after.NextAttemptAt, after.Resets));
        // A state read after the reset saves whole again; an update without a reset does not stop it.
        Assert.NotNull(await store.UpdateAsync(definition.Id, d => d with { Url = "https://other.example.net/in" }, resetDeliveryState: false, None));
        await store.SaveAsync(after with { After = 9, Failures = 1 }, None);
        Assert.Equal(after with { After = 9, Failures = 1 }, await store.FindAsync(definition.Id, None));
    }

    [Fact]
    public async Task Concurrent_updates_and_state_saves_lose_nothing()
    {
        var options = await OptionsAsync();
        var time = new FakeTimeProvider(Now);
        var definition = Definition("key-1", Now);
        await Store(options, time).CreateAsync(definition, 10, None);
        var state = (await Store(options, time).FindAsync(definition.Id, None))!;
        using var start = new SemaphoreSlim(0);

        var updates = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            await start.WaitAsync();
            await Store(options, time).UpdateAsync(definition.Id, d => d with { EventTypes = [.. d.EventTypes, "t" + i] }, false, None);
        }));
        var saves = Enumerable.Range(1, 8).Select(i => Task.Run(async () =>
        {
            await start.WaitAsync();
            await Store(options, time).SaveAsync(state with { After = i, Failures = i }, None);
        }));
        var all = updates.Concat(saves).ToList();
        start.Release(all.Count);
        await Task.WhenAll(all);

        var types = (await Store(options, time).GetAsync(definition.Id, None))!.EventTypes;
        Assert.Equal(Enumerable.Range(0, 8).Select(i => "t" + i), types.Order(StringComparer.Ordinal));
        var saved = (await Store(options, time).FindAsync(definition.Id, None))!;
        Assert.InRange(saved.After, 1, 8);
        Assert.Equal(state with { After = saved.After, Failures = (int)saved.After }, saved);
    }

    [Fact]
    public async Task An_owner_lists_only_its_own_endpoints_whatever_its_id()
    {
        var options = await OptionsAsync();
        var store = Store(options, new FakeTimeProvider(Now));
        // Key ids are free text: one spelled like the configured partition, one with characters keys refuse.
        var owners = new[] { "key-1", TableWebhookStore.ConfiguredPartition, "ops/team #2?", "~7E" };
        var byOwner = new Dictionary<string, WebhookDefinition>();
        foreach (var owner in owners)
        {
            byOwner[owner] = Definition(owner, Now);
            Assert.Equal(WebhookCreateOutcome.Created, await store.CreateAsync(byOwner[owner], 1, None));
        }

        await store.GetOrCreateAsync("endpoint-0", None);

        foreach (var owner in owners)
        {
            var listed = Assert.Single(await store.ListAsync(owner, None));
            AssertSame(byOwner[owner], listed);
            AssertSame(byOwner[owner], await Store(options, new FakeTimeProvider(Now)).GetAsync(byOwner[owner].Id, None));
        }

        Assert.Empty(await store.ListAsync("key-2", None));
        Assert.Equal(owners.Length, (await store.ListAsync(null, None)).Count);
        Assert.Equal(0, (await store.FindAsync("endpoint-0", None))!.Failures);
    }

    [Fact]
    public async Task A_missing_table_reads_as_empty()
    {
        var options = await OptionsAsync();
        options.CreateIfNotExists = false;
        var store = Store(options, new FakeTimeProvider(Now));

        Assert.Empty(await store.ListAsync(null, None));
        Assert.Empty(await store.ListAsync("key-1", None));
        Assert.Null(await store.GetAsync("wh_000000000000000000000000", None));
        Assert.Null(await store.FindAsync("wh_000000000000000000000000", None));
        Assert.Null(await store.FindAsync("endpoint-0", None));
        Assert.Null(await store.UpdateAsync("wh_000000000000000000000000", d => d, true, None));
        Assert.False(await store.DeleteAsync("wh_000000000000000000000000", None));
        await store.SaveAsync(new WebhookEndpointState("wh_000000000000000000000000", 1, 0, null, null, null, null, false), None);
        Assert.Empty(await new TableServiceClient(options.ConnectionString).QueryAsync(t => t.Name == options.WebhookTable).ToListAsync());
    }
}
