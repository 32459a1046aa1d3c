using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using MailGateway.Core.Bounces;
using MailGateway.Core.Delivery;
using MailGateway.Core.Events;
using MailGateway.Core.Status;
using MailGateway.Core.Suppressions;
using Microsoft.Data.Sqlite;

namespace MailGateway.Embedded;

/// <summary>The suppression list in the SQLite database (table <c>suppressions</c>, one row per key and normalized address).</summary>
public sealed class SqliteSuppressionList(SqliteDatabase database) : ISuppressionList
{
    // Whether the table may hold a row, per database: unknown until the first lookup asks SQLite, then "empty" until
    // this process adds a row (every row is added by this class or SqliteBounceRecorder, and the standalone host is the
    // database's one process). An empty
    // list, the common case, then costs a delivery no query. Set before the row is written, so a lookup that read
    // "empty" just before an add is ordered before it.
    private const int Unknown = 0, Empty = 1, MayHaveRows = 2;
    private static readonly ConditionalWeakTable<SqliteDatabase, StrongBox<int>> TableState = new();

    private readonly StrongBox<int> _state = StateOf(database);

    /// <summary>Called before a row is added to the table by other code of this assembly (the bounce recorder).</summary>
    internal static void MarkMayHaveRows(SqliteDatabase database) => Volatile.Write(ref StateOf(database).Value, MayHaveRows);

    private static StrongBox<int> StateOf(SqliteDatabase database) => TableState.GetValue(database, _ => new StrongBox<int>(Unknown));

    /// <inheritdoc />
    public async Task<IReadOnlySet<string>> FindAsync(string owner, IReadOnlyList<string> addresses, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (addresses.Count == 0)
        {
            return found;
        }

        if (Volatile.Read(ref _state.Value) == Empty || (Volatile.Read(ref _state.Value) == Unknown && await IsEmptyAsync(cancellationToken)))
        {
            return found;
        }

        var byNormal = addresses.GroupBy(SuppressionAddress.Normalize, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT address FROM suppressions WHERE owner = $owner AND (expires_at IS NULL OR expires_at > $now) AND address IN (");
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$now", UnixTime.Ms(now));
        var i = 0;
        foreach (var address in byNormal.Keys)
        {
            var name = "$a" + i.ToString(CultureInfo.InvariantCulture);
            sql.Append(i++ == 0 ? name : "," + name);
            command.Parameters.AddWithValue(name, address);
        }

        command.CommandText = sql.Append(')').ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.UnionWith(byNormal[reader.GetString(0)]);
        }

        return found;
    }

    private async Task<bool> IsEmptyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM suppressions)";
        var empty = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0;
        // Only from Unknown: an add that ran meanwhile has set MayHaveRows, and that stays.
        return empty && Interlocked.CompareExchange(ref _state.Value, Empty, Unknown) != MayHaveRows;
    }

    /// <inheritdoc />
    public Task AddAsync(SuppressionEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Volatile.Write(ref _state.Value, MayHaveRows);
        return database.WriteAsync((connection, transaction) => Upsert(connection, transaction, entry), cancellationToken);
    }

    /// <summary>Adds or replaces <paramref name="entry"/> inside the caller's transaction.</summary>
    internal static int Upsert(SqliteConnection connection, SqliteTransaction transaction, SuppressionEntry entry)
    {
        using var command = SqliteMessageStatusStore.Command(connection, transaction,
            """
            INSERT INTO suppressions (owner, address, reason, created_at, expires_at, detail, message_id)
            VALUES ($owner, $address, $reason, $created, $expires, $detail, $message)
            ON CONFLICT (owner, address) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at,
                expires_at = excluded.expires_at, detail = excluded.detail, message_id = excluded.message_id
            """,
            ("$owner", entry.Owner), ("$address", SuppressionAddress.Normalize(entry.Address)), ("$reason", entry.Reason),
            ("$created", UnixTime.Ms(entry.CreatedAt)),
            ("$expires", entry.ExpiresAt is { } expires ? UnixTime.Ms(expires) : DBNull.Value),
            ("$detail", (object?)SuppressionAddress.Detail(entry.Detail) ?? DBNull.Value),
            ("$message", (object?)entry.MessageId ?? DBNull.Value));
        return command.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public Task<bool> RemoveAsync(string owner, string address, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = SqliteMessageStatusStore.Command(connection, transaction,
                "DELETE FROM suppressions WHERE owner = $owner AND address = $address",
                ("$owner", owner), ("$address", SuppressionAddress.Normalize(address)));
            return command.ExecuteNonQuery() > 0;
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<SuppressionEntry>> ListAsync(SuppressionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder(
            "SELECT owner, address, reason, created_at, expires_at, detail, message_id FROM suppressions WHERE (expires_at IS NULL OR expires_at > $now)");
        command.Parameters.AddWithValue("$now", UnixTime.Ms(query.Now));
        if (query.Owner is not null)
        {
            sql.Append(" AND owner = $owner");
            command.Parameters.AddWithValue("$owner", query.Owner);
        }

        if (query.Address is not null)
        {
            sql.Append(" AND address = $address");
            command.Parameters.AddWithValue("$address", SuppressionAddress.Normalize(query.Address));
        }

        if (query.After is { } after)
        {
            sql.Append(" AND (owner > $after_owner OR (owner = $after_owner AND address > $after_address))");
            command.Parameters.AddWithValue("$after_owner", after.Owner);
            command.Parameters.AddWithValue("$after_address", after.Address);
        }

        sql.Append(" ORDER BY owner, address LIMIT $limit");
        command.Parameters.AddWithValue("$limit", query.Limit);
        command.CommandText = sql.ToString();
        var entries = new List<SuppressionEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new SuppressionEntry(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), UnixTime.From(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : UnixTime.From(reader.GetInt64(4)),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return entries;
    }
}

/// <summary>
/// Applies a bounce in one SQLite transaction: the recipient's status becomes <c>bounced</c> (a DSN) with a
/// <c>bounced</c> event, and its address goes on the sending key's suppression list (a DSN or a complaint).
/// </summary>
public sealed class SqliteBounceRecorder(SqliteDatabase database, TimeProvider time) : IBounceRecorder
{
    /// <inheritdoc />
    public Task<BounceRecordOutcome> RecordAsync(BounceNotice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        SqliteSuppressionList.MarkMayHaveRows(database);
        return database.WriteAsync((connection, transaction) =>
        {
            var record = SqliteMessageStatusStore.Read(connection, transaction, notice.MessageId);
            if (record is null)
            {
                return BounceRecordOutcome.UnknownMessage;
            }

            var envelope = record.Envelope?.Recipients ?? [];
            if (notice.RecipientIndex >= envelope.Count)
            {
                return BounceRecordOutcome.UnknownRecipient;
            }

            var address = envelope[notice.RecipientIndex];
            var now = time.GetUtcNow();
            SqliteSuppressionList.Upsert(connection, transaction, new SuppressionEntry(
                record.Owner, address, notice.SuppressionReason, now, null, notice.SuppressionDetail, record.Id));
            if (notice.IsComplaint)
            {
                return BounceRecordOutcome.Applied;
            }

            var reply = notice.Reply();
            var bounced = new RecipientResult(address, RecipientState.Bounced, reply);
            var found = false;
            var recipients = record.Recipients.Select(r =>
            {
                if (!string.Equals(r.Address, address, StringComparison.OrdinalIgnoreCase))
                {
                    return r;
                }

                found = true;
                return bounced;
            }).ToList();
            if (!found)
            {
                recipients.Add(bounced);
            }

            var after = record with { Recipients = recipients, UpdatedAt = now };
            SqliteMessageStatusStore.WriteRecord(connection, transaction, after);
            SqliteMessageEventStore.Insert(connection, transaction, [MessageEvents.ForBounce(after, address, reply.ToString(), now)]);
            return BounceRecordOutcome.Applied;
        }, cancellationToken);
    }
}
