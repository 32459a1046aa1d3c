using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.AzureAdapters.Suppressions;
using MailGateway.Core.Webhooks;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Webhooks;

/// <summary>
/// The webhook endpoints created through the API and every endpoint's delivery state in Table storage (table
/// <see cref="AzureStorageOptions.WebhookTable"/>), the Azure counterpart of <c>SqliteWebhookRegistry</c> and
/// <c>SqliteWebhookStateStore</c>. One entity per endpoint holds both its definition and its delivery state, so a create
/// or a delete is one entity operation and a state can never outlive its endpoint.
/// <list type="bullet">
/// <item>An API endpoint: partition = its owner (the API key id, escaped by <see cref="TableKey"/>), row = its id
/// (<c>wh_…</c>). The owner's partition also holds a guard row, <see cref="GuardRow"/>: a create reads it, counts the
/// owner's endpoints, and then in one entity-group transaction updates the guard conditional on its ETag (or adds it)
/// and adds the endpoint, so two creates racing for the owner's last place cannot both succeed (the loser's ETag is
/// stale: it counts again).</item>
/// <item>A configured endpoint (<c>MailGateway:Webhooks:Endpoints</c>, named by <c>WebhookOptions.NameOf</c>): only its
/// delivery state, partition <see cref="ConfiguredPartition"/>, row = its name (escaped). An API key id may be any
/// text, <c>~configured</c> too, but an escaped key never is: <see cref="TableKey"/> turns every <c>~</c> into
/// <c>~7E</c> and leaves a <c>~</c> only before two hex digits, and <c>~configured</c> has <c>co</c> after its
/// <c>~</c>. For the same reason <see cref="GuardRow"/> is never an endpoint's row (ids start with <c>wh_</c>).</item>
/// </list>
/// A new state (a create, or the first <see cref="GetOrCreateAsync"/> of a configured name) starts at
/// <see cref="TableEventFeed.CursorAt"/> of now, the cursor of the Azure event feed (<c>AfterId</c>; <c>After</c> is 0).
/// A state is written with a whole-entity replace conditional on the ETag read (a merge cannot remove a property, so a
/// cleared failure would stay), retried when the entity changed meanwhile, and never re-created: an endpoint deleted
/// meanwhile stays deleted. An id's partition never changes, so it is remembered once found and the next reads are
/// point reads; an id not seen yet is found by a query on the row key across partitions.
/// The secrets are stored as they are: the dispatcher signs with them, and the table is readable by the gateway's
/// identities only. A missing table reads as empty; any other failure of the service surfaces as the SDK's
/// <see cref="RequestFailedException"/>, which the API answers with 503.
/// </summary>
public sealed class TableWebhookStore : IWebhookRegistry, IWebhookStateStore
{
    /// <summary>The partition of the configured endpoints' delivery states.</summary>
    internal const string ConfiguredPartition = "~configured";

    /// <summary>The row, in each owner's partition, that every create of the owner's endpoints updates.</summary>
    internal const string GuardRow = "~count";

    // Every row key of an API endpoint starts with the prefix: it is below this bound ('`' follows '_').
    private const string IdUpperBound = "wh`";

    // Tries of an optimistic write before the conflict surfaces (each lost try means another writer succeeded).
    private const int MaxAttempts = 16;

    // A string property holds at most 64 KiB (UTF-16).
    private const int MaxErrorLength = 32 * 1024 - 1;

    private static readonly string[] StateProperties =
        ["After", "AfterId", "Failures", "FailingSince", "NextAttemptAt", "LastStatus", "LastError", "Disabled", "Resets", "UpdatedAt"];

    private readonly TableClient _table;
    private readonly TimeProvider _time;
    private readonly AsyncOnce _created;
    private readonly ConcurrentDictionary<string, string> _partitions = new(StringComparer.Ordinal);

    /// <summary>Creates the store on the configured table.</summary>
    public TableWebhookStore(TableServiceClient service, IOptions<AzureStorageOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _table = service.GetTableClient(options.Value.WebhookTable);
        _time = time;
        var create = options.Value.CreateIfNotExists;
        _created = new AsyncOnce(async ct =>
        {
            if (create)
            {
                await _table.CreateIfNotExistsAsync(ct);
            }
        });
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WebhookDefinition>> ListAsync(string? owner, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        var filter = owner is null
            ? TableClient.CreateQueryFilter($"PartitionKey ne {ConfiguredPartition} and RowKey ge {WebhookDefinition.IdPrefix} and RowKey lt {IdUpperBound}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {TableKey.Escape(owner)} and RowKey ge {WebhookDefinition.IdPrefix} and RowKey lt {IdUpperBound}");
        var list = new List<WebhookDefinition>();
        foreach (var row in await QueryAsync(filter, null, cancellationToken))
        {
            var definition = ToDefinition(row);
            _partitions[definition.Id] = row.PartitionKey;
            list.Add(definition);
        }

        // Oldest first, then by id (the SQLite order).
        list.Sort((a, b) => a.CreatedAt.CompareTo(b.CreatedAt) is var byTime and not 0 ? byTime : string.CompareOrdinal(a.Id, b.Id));
        return list;
    }

    /// <inheritdoc />
    public async Task<WebhookDefinition?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        await _created.EnsureAsync(cancellationToken);
        return await FindEndpointAsync(id, cancellationToken) is { } row ? ToDefinition(row) : null;
    }

    /// <inheritdoc />
    public async Task<WebhookCreateOutcome> CreateAsync(WebhookDefinition definition, int maxPerOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        await _created.EnsureAsync(cancellationToken);
        var partition = TableKey.Escape(definition.Owner);
        for (var attempt = 1; ; attempt++)
        {
            // The guard first, then the count: every endpoint added before the guard's version is counted, and an
            // endpoint added after it changed the guard, so the transaction below fails and this counts again.
            var guard = await PointReadAsync(partition, GuardRow, cancellationToken);
            var count = (await QueryAsync(
                TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {WebhookDefinition.IdPrefix} and RowKey lt {IdUpperBound}"),
                ["RowKey"], cancellationToken)).Count;
            if (count >= maxPerOwner)
            {
                return WebhookCreateOutcome.TooMany;
            }

            var now = _time.GetUtcNow();
            var guardRow = new TableEntity(partition, GuardRow) { ["LastCreatedAt"] = now };
            var entity = DefinitionEntity(partition, definition);
            WriteState(entity, NewState(definition.Id, now), now);
            TableTransactionAction[] actions =
            [
                guard is null
                    ? new TableTransactionAction(TableTransactionActionType.Add, guardRow)
                    : new TableTransactionAction(TableTransactionActionType.UpdateMerge, guardRow, guard.ETag),
                new(TableTransactionActionType.Add, entity),
            ];
            try
            {
                await _table.SubmitTransactionAsync(actions, cancellationToken);
                _partitions[definition.Id] = partition;
                return WebhookCreateOutcome.Created;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && ex.FailedTransactionActionIndex is null or 0 && attempt < MaxAttempts)
            {
                // Another create of the owner's changed (or added) the guard meanwhile: read and count again.
            }
        }
    }

    /// <inheritdoc />
    public async Task<WebhookDefinition?> UpdateAsync(string id, Func<WebhookDefinition, WebhookDefinition> change, bool resetDeliveryState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(change);
        await _created.EnsureAsync(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            if (await FindEndpointAsync(id, cancellationToken) is not { } row)
            {
                return null;
            }

            var current = ToDefinition(row);
            var updated = change(current) with { Id = current.Id, Owner = current.Owner, CreatedAt = current.CreatedAt };
            var entity = DefinitionEntity(row.PartitionKey, updated);
            foreach (var name in StateProperties)
            {
                if (row.TryGetValue(name, out var value) && value is not null)
                {
                    entity[name] = value;
                }
            }

            if (resetDeliveryState)
            {
                // Failures and a disabled state go; the cursor and the last answer stay (the SQLite reset).
                entity["Failures"] = 0;
                entity["Disabled"] = false;
                entity.Remove("FailingSince");
                entity.Remove("NextAttemptAt");
                entity["Resets"] = (row.GetInt64("Resets") ?? 0) + 1;
                entity["UpdatedAt"] = _time.GetUtcNow();
            }

            try
            {
                await _table.UpdateEntityAsync(entity, row.ETag, TableUpdateMode.Replace, cancellationToken);
                return updated;
            }
            catch (RequestFailedException ex) when (ex.Status == 412 && attempt < MaxAttempts)
            {
                // Changed meanwhile (a state save, another update): apply the change to the new value.
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return null; // deleted meanwhile
            }
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        await _created.EnsureAsync(cancellationToken);
        if (await FindEndpointAsync(id, cancellationToken) is not { } row)
        {
            return false;
        }

        _partitions.TryRemove(id, out _);
        try
        {
            // The definition and the state are one entity: nothing else to remove (the guard holds no count).
            using var response = await _table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken);
            return response.Status != 404;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<WebhookEndpointState?> FindAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        await _created.EnsureAsync(cancellationToken);
        var row = IsApiId(name)
            ? await FindEndpointAsync(name, cancellationToken)
            : await PointReadAsync(ConfiguredPartition, TableKey.Escape(name), cancellationToken);
        return row is null ? null : ToState(name, row);
    }

    /// <summary>
    /// The state of <paramref name="name"/>; a configured endpoint seen for the first time gets one, starting at the
    /// feed's cursor of now. An API endpoint's state is created with the endpoint (<see cref="CreateAsync"/>): for an
    /// id that is not there (deleted) a new state is returned but not stored, and saving it stores nothing.
    /// </summary>
    public async Task<WebhookEndpointState> GetOrCreateAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        await _created.EnsureAsync(cancellationToken);
        if (IsApiId(name))
        {
            return await FindEndpointAsync(name, cancellationToken) is { } endpoint ? ToState(name, endpoint) : NewState(name, _time.GetUtcNow());
        }

        var rowKey = TableKey.Escape(name);
        for (var attempt = 1; ; attempt++)
        {
            if (await PointReadAsync(ConfiguredPartition, rowKey, cancellationToken) is { } row)
            {
                return ToState(name, row);
            }

            var now = _time.GetUtcNow();
            var state = NewState(name, now);
            var entity = new TableEntity(ConfiguredPartition, rowKey) { ["Name"] = name };
            WriteState(entity, state, now);
            try
            {
                await _table.AddEntityAsync(entity, cancellationToken);
                return state;
            }
            catch (RequestFailedException ex) when (ex.Status == 409 && attempt < MaxAttempts)
            {
                // Another host created it first: that one counts.
            }
        }
    }

    /// <inheritdoc />
    public async Task SaveAsync(WebhookEndpointState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        await _created.EnsureAsync(cancellationToken);
        if (!IsApiId(state.Name))
        {
            // A configured endpoint's row is its state alone: replace it whole (created when missing).
            var now = _time.GetUtcNow();
            var entity = new TableEntity(ConfiguredPartition, TableKey.Escape(state.Name)) { ["Name"] = state.Name };
            WriteState(entity, state, now);
            await _table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
            return;
        }

        for (var attempt = 1; ; attempt++)
        {
            if (await FindEndpointAsync(state.Name, cancellationToken) is not { } row)
            {
                return; // deleted: it stays gone
            }

            var stored = ToState(state.Name, row);
            // Reset through the API since this state was read: keep the reset, move the cursor forward.
            var write = stored.Resets == state.Resets ? state : stored with
            {
                After = Math.Max(stored.After, state.After),
                AfterId = string.CompareOrdinal(state.AfterId, stored.AfterId) > 0 ? state.AfterId : stored.AfterId,
            };
            WriteState(row, write, _time.GetUtcNow());
            try
            {
                await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status == 412 && attempt < MaxAttempts)
            {
                // Changed meanwhile (an update through the API): write the state onto the new definition.
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return; // deleted meanwhile: never re-created
            }
        }
    }

    private static bool IsApiId(string name) => name.StartsWith(WebhookDefinition.IdPrefix, StringComparison.Ordinal);

    private static bool IsTableNotFound(RequestFailedException ex) => ex.Status == 404 && ex.ErrorCode == "TableNotFound";

    private static WebhookEndpointState NewState(string name, DateTimeOffset now) =>
        new(name, 0, 0, null, null, null, null, false, TableEventFeed.CursorAt(now));

    // The API endpoint's entity, or null: a point read where its partition is known, else a query across partitions.
    private async Task<TableEntity?> FindEndpointAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsApiId(id))
        {
            return null; // a configured endpoint or no endpoint: not in the registry
        }

        var rowKey = TableKey.Escape(id);
        if (_partitions.TryGetValue(id, out var partition))
        {
            var found = await PointReadAsync(partition, rowKey, cancellationToken);
            if (found is null)
            {
                _partitions.TryRemove(id, out _); // deleted: an id is never used again
            }

            return found;
        }

        var rows = await QueryAsync(TableClient.CreateQueryFilter($"RowKey eq {rowKey} and PartitionKey ne {ConfiguredPartition}"), null, cancellationToken, limit: 1);
        if (rows.Count == 0)
        {
            return null;
        }

        _partitions[id] = rows[0].PartitionKey;
        return rows[0];
    }

    private async Task<TableEntity?> PointReadAsync(string partition, string rowKey, CancellationToken cancellationToken)
    {
        try
        {
            var row = await _table.GetEntityIfExistsAsync<TableEntity>(partition, rowKey, cancellationToken: cancellationToken);
            return row.HasValue ? row.Value : null;
        }
        catch (RequestFailedException ex) when (IsTableNotFound(ex))
        {
            return null;
        }
    }

    private async Task<List<TableEntity>> QueryAsync(string filter, IEnumerable<string>? select, CancellationToken cancellationToken, int limit = int.MaxValue)
    {
        var rows = new List<TableEntity>();
        try
        {
            await foreach (var row in _table.QueryAsync<TableEntity>(filter, select: select, cancellationToken: cancellationToken))
            {
                rows.Add(row);
                if (rows.Count >= limit)
                {
                    break;
                }
            }
        }
        catch (RequestFailedException ex) when (IsTableNotFound(ex))
        {
            // No table yet: nothing was written.
        }

        return rows;
    }

    private static TableEntity DefinitionEntity(string partition, WebhookDefinition d)
    {
        var entity = new TableEntity(partition, TableKey.Escape(d.Id))
        {
            ["Id"] = d.Id,
            ["Owner"] = d.Owner,
            ["Url"] = d.Url,
            ["EventTypes"] = string.Join(',', d.EventTypes),
            ["Enabled"] = d.Enabled,
            ["Secret"] = d.Secret,
            ["CreatedAt"] = d.CreatedAt,
        };
        if (d.PreviousSecret is { } previous)
        {
            entity["PreviousSecret"] = previous;
        }

        if (d.PreviousSecretExpiresAt is { } expires)
        {
            entity["PreviousSecretExpiresAt"] = expires;
        }

        return entity;
    }

    private static WebhookDefinition ToDefinition(TableEntity row) => new(
        row.GetString("Id") ?? TableKey.Unescape(row.RowKey),
        row.GetString("Owner") ?? TableKey.Unescape(row.PartitionKey),
        row.GetString("Url") ?? "",
        row.GetString("EventTypes") is { Length: > 0 } types ? types.Split(',') : [],
        row.GetBoolean("Enabled") ?? true,
        row.GetString("Secret") ?? "",
        row.GetString("PreviousSecret"),
        row.GetDateTimeOffset("PreviousSecretExpiresAt"),
        row.GetDateTimeOffset("CreatedAt") ?? default);

    // Sets the state's properties on the entity; a null one is removed (absent), which only a replace stores.
    private static void WriteState(TableEntity entity, WebhookEndpointState state, DateTimeOffset now)
    {
        entity["After"] = state.After;
        entity["Failures"] = state.Failures;
        entity["Disabled"] = state.Disabled;
        entity["Resets"] = state.Resets;
        entity["UpdatedAt"] = now;
        Set(entity, "AfterId", state.AfterId);
        Set(entity, "FailingSince", state.FailingSince);
        Set(entity, "NextAttemptAt", state.NextAttemptAt);
        Set(entity, "LastStatus", state.LastStatus);
        Set(entity, "LastError", state.LastError is { Length: > MaxErrorLength } error ? error[..MaxErrorLength] : state.LastError);
    }

    private static void Set(TableEntity entity, string name, object? value)
    {
        if (value is null)
        {
            entity.Remove(name);
        }
        else
        {
            entity[name] = value;
        }
    }

    private static WebhookEndpointState ToState(string name, TableEntity row) => new(
        name,
        row.GetInt64("After") ?? 0,
        row.GetInt32("Failures") ?? 0,
        row.GetDateTimeOffset("FailingSince"),
        row.GetDateTimeOffset("NextAttemptAt"),
        row.GetInt32("LastStatus"),
        row.GetString("LastError"),
        row.GetBoolean("Disabled") ?? false,
        row.GetString("AfterId"),
        row.GetInt64("Resets") ?? 0);
}
