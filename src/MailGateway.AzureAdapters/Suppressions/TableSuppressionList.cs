using System.Globalization;
using System.Text;
using Azure;
using Azure.Data.Tables;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Suppressions;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Suppressions;

/// <summary>
/// The suppression list in Table storage (table <see cref="AzureStorageOptions.SuppressionTable"/>): one partition per
/// API key, one row per normalized address, both keys escaped by <see cref="TableKey"/>. An entry that never expires
/// stores <see cref="Never"/> as its expiry so "active at" is one server-side comparison. Lists come back in key order
/// (by escaped owner, then escaped address), which Table storage returns natively; the cursor is compared in the
/// same escaped form, so pages neither repeat nor skip an entry. A failing service surfaces as the SDK's
/// <see cref="RequestFailedException"/>, which the API answers with 503 and the worker with a deferral.
/// </summary>
public sealed class TableSuppressionList : ISuppressionList
{
    /// <summary>The stored expiry of an entry without one (the largest date Table storage holds).</summary>
    internal static readonly DateTimeOffset Never = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);

    // Point reads of one message's recipients run this many at a time.
    private const int FindParallelism = 16;

    private readonly TableClient _table;
    private readonly AsyncOnce _created;

    /// <summary>Creates the list on the configured table.</summary>
    public TableSuppressionList(TableServiceClient service, IOptions<AzureStorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        _table = service.GetTableClient(options.Value.SuppressionTable);
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
    public async Task<IReadOnlySet<string>> FindAsync(string owner, IReadOnlyList<string> addresses, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(addresses);
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (addresses.Count == 0)
        {
            return found;
        }

        await _created.EnsureAsync(cancellationToken);
        var partition = TableKey.Escape(owner);
        var byNormal = addresses.GroupBy(SuppressionAddress.Normalize, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var active = new System.Collections.Concurrent.ConcurrentBag<string>();
        // Point reads: O(1) each however long the key's list is (an OR filter would scan the partition).
        await Parallel.ForEachAsync(
            byNormal.Keys,
            new ParallelOptions { MaxDegreeOfParallelism = FindParallelism, CancellationToken = cancellationToken },
            async (address, ct) =>
            {
                var row = await _table.GetEntityIfExistsAsync<TableEntity>(partition, TableKey.Escape(address), ["ExpiresAt"], ct);
                if (row.HasValue && row.Value is { } entity && (entity.GetDateTimeOffset("ExpiresAt") ?? Never) > now)
                {
                    active.Add(address);
                }
            });
        foreach (var address in active)
        {
            found.UnionWith(byNormal[address]);
        }

        return found;
    }

    /// <inheritdoc />
    public async Task AddAsync(SuppressionEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _created.EnsureAsync(cancellationToken);
        var address = SuppressionAddress.Normalize(entry.Address);
        var row = new TableEntity(TableKey.Escape(entry.Owner), TableKey.Escape(address))
        {
            ["Owner"] = entry.Owner,
            ["Address"] = address,
            ["Reason"] = entry.Reason,
            ["CreatedAt"] = entry.CreatedAt,
            ["ExpiresAt"] = entry.ExpiresAt ?? Never,
            ["Detail"] = SuppressionAddress.Detail(entry.Detail),
            ["MessageId"] = entry.MessageId,
        };
        // Replace, not merge: a replaced entry keeps nothing of the old one (a detail or message id it no longer has).
        await _table.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> RemoveAsync(string owner, string address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(address);
        await _created.EnsureAsync(cancellationToken);
        try
        {
            using var response = await _table.DeleteEntityAsync(TableKey.Escape(owner), TableKey.Escape(SuppressionAddress.Normalize(address)), ETag.All, cancellationToken);
            return response.Status != 404;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SuppressionEntry>> ListAsync(SuppressionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var entries = new List<SuppressionEntry>();
        if (query.Limit <= 0)
        {
            return entries;
        }

        await _created.EnsureAsync(cancellationToken);
        var filter = new List<string> { TableClient.CreateQueryFilter($"ExpiresAt gt {query.Now}") };
        if (query.Owner is not null)
        {
            filter.Add(TableClient.CreateQueryFilter($"PartitionKey eq {TableKey.Escape(query.Owner)}"));
        }

        if (query.Address is not null)
        {
            filter.Add(TableClient.CreateQueryFilter($"RowKey eq {TableKey.Escape(SuppressionAddress.Normalize(query.Address))}"));
        }

        if (query.After is { } after)
        {
            var afterOwner = TableKey.Escape(after.Owner);
            var afterAddress = TableKey.Escape(after.Address);
            filter.Add(TableClient.CreateQueryFilter($"(PartitionKey gt {afterOwner} or (PartitionKey eq {afterOwner} and RowKey gt {afterAddress}))"));
        }

        var pages = _table.QueryAsync<TableEntity>(string.Join(" and ", filter), maxPerPage: Math.Min(query.Limit, 1000), cancellationToken: cancellationToken);
        await foreach (var row in pages)
        {
            entries.Add(FromEntity(row));
            if (entries.Count >= query.Limit)
            {
                break;
            }
        }

        return entries;
    }

    private static SuppressionEntry FromEntity(TableEntity row)
    {
        var expires = row.GetDateTimeOffset("ExpiresAt");
        return new SuppressionEntry(
            row.GetString("Owner") ?? TableKey.Unescape(row.PartitionKey),
            row.GetString("Address") ?? TableKey.Unescape(row.RowKey),
            row.GetString("Reason") ?? SuppressionReasons.Manual,
            row.GetDateTimeOffset("CreatedAt") ?? default,
            expires is null || expires >= Never ? null : expires,
            row.GetString("Detail"),
            row.GetString("MessageId"));
    }
}

/// <summary>
/// A reversible escape of any text into a Table key. Table storage refuses <c>/ \ # ?</c> and control characters in
/// keys, and <c>%</c> and <c>+</c> have been mangled on the way through URLs of point operations, so only letters,
/// digits, <c>@ . - _</c> and non-ASCII characters (other than C1 controls) stay as they are; every other character
/// is <c>~</c> and two hex digits (<c>~</c> itself included). An address is at most 254 octets, so its key stays
/// under the 1 KiB limit.
/// </summary>
internal static class TableKey
{
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        StringBuilder? escaped = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (IsKept(c))
            {
                escaped?.Append(c);
                continue;
            }

            escaped ??= new StringBuilder(text.Length + 16).Append(text, 0, i);
            escaped.Append('~').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
        }

        return escaped?.ToString() ?? text;
    }

    public static string Unescape(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.Contains('~', StringComparison.Ordinal))
        {
            return key;
        }

        var text = new StringBuilder(key.Length);
        for (var i = 0; i < key.Length; i++)
        {
            if (key[i] == '~' && i + 2 < key.Length
                && int.TryParse(key.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
            {
                text.Append((char)code);
                i += 2;
            }
            else
            {
                text.Append(key[i]);
            }
        }

        return text.ToString();
    }

    // Escaped characters are all below U+00A0, so two hex digits always suffice.
    private static bool IsKept(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '@' or '.' or '-' or '_' || c >= '\u00A0';
}
