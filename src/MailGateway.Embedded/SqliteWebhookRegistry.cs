using MailGateway.Core.Webhooks;
using Microsoft.Data.Sqlite;

namespace MailGateway.Embedded;

/// <summary>
/// The webhook endpoints created through the API, in the SQLite database (table <c>webhooks</c>; their delivery state is
/// a row of <c>webhook_endpoints</c> named by the id, created and removed in the same transaction). The secrets are
/// stored as they are (the dispatcher signs with them): the database is readable by the gateway's user only.
/// </summary>
public sealed class SqliteWebhookRegistry(SqliteDatabase database, TimeProvider time) : IWebhookRegistry
{
    private const string Columns = "id, owner, url, event_types, enabled, secret, previous_secret, previous_secret_expires_at, created_at";

    /// <inheritdoc />
    public async Task<IReadOnlyList<WebhookDefinition>> ListAsync(string? owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = owner is null
            ? Command(connection, null, $"SELECT {Columns} FROM webhooks ORDER BY created_at, id")
            : Command(connection, null, $"SELECT {Columns} FROM webhooks WHERE owner = $owner ORDER BY created_at, id", ("$owner", owner));
        var list = new List<WebhookDefinition>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(Read(reader));
        }

        return list;
    }

    /// <inheritdoc />
    public async Task<WebhookDefinition?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {Columns} FROM webhooks WHERE id = $id", ("$id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <inheritdoc />
    public Task<WebhookCreateOutcome> CreateAsync(WebhookDefinition definition, int maxPerOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return database.WriteAsync((connection, transaction) =>
        {
            using (var count = Command(connection, transaction, "SELECT count(*) FROM webhooks WHERE owner = $owner", ("$owner", definition.Owner)))
            {
                if ((long)count.ExecuteScalar()! >= maxPerOwner)
                {
                    return WebhookCreateOutcome.TooMany;
                }
            }

            Write(connection, transaction, definition, insert: true);
            using var state = Command(connection, transaction,
                "INSERT OR REPLACE INTO webhook_endpoints (name, after, updated_at) SELECT $name, coalesce(max(seq), 0), $now FROM events",
                ("$name", definition.Id), ("$now", UnixTime.Ms(time.GetUtcNow())));
            state.ExecuteNonQuery();
            return WebhookCreateOutcome.Created;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<WebhookDefinition?> UpdateAsync(string id, Func<WebhookDefinition, WebhookDefinition> change, bool resetDeliveryState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        return database.WriteAsync<WebhookDefinition?>((connection, transaction) =>
        {
            WebhookDefinition current;
            using (var read = Command(connection, transaction, $"SELECT {Columns} FROM webhooks WHERE id = $id", ("$id", id)))
            using (var reader = read.ExecuteReader())
            {
                if (!reader.Read())
                {
                    return null;
                }

                current = Read(reader);
            }

            var updated = change(current) with { Id = current.Id, Owner = current.Owner, CreatedAt = current.CreatedAt };
            Write(connection, transaction, updated, insert: false);
            if (resetDeliveryState)
            {
                using var reset = Command(connection, transaction,
                    "UPDATE webhook_endpoints SET failures = 0, failing_since = NULL, next_attempt_at = NULL, disabled = 0, resets = resets + 1, updated_at = $now WHERE name = $id",
                    ("$id", id), ("$now", UnixTime.Ms(time.GetUtcNow())));
                reset.ExecuteNonQuery();
            }

            return updated;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var delete = Command(connection, transaction, "DELETE FROM webhooks WHERE id = $id", ("$id", id));
            if (delete.ExecuteNonQuery() == 0)
            {
                return false;
            }

            using var state = Command(connection, transaction, "DELETE FROM webhook_endpoints WHERE name = $id", ("$id", id));
            state.ExecuteNonQuery();
            return true;
        }, cancellationToken);

    private static void Write(SqliteConnection connection, SqliteTransaction transaction, WebhookDefinition d, bool insert)
    {
        using var command = Command(connection, transaction,
            insert
                ? $"INSERT INTO webhooks ({Columns}) VALUES ($id, $owner, $url, $types, $enabled, $secret, $previous, $expires, $created)"
                : "UPDATE webhooks SET url = $url, event_types = $types, enabled = $enabled, secret = $secret, previous_secret = $previous, previous_secret_expires_at = $expires WHERE id = $id",
            ("$id", d.Id), ("$owner", d.Owner), ("$url", d.Url), ("$types", string.Join(',', d.EventTypes)), ("$enabled", d.Enabled ? 1 : 0),
            ("$secret", d.Secret), ("$previous", (object?)d.PreviousSecret ?? DBNull.Value),
            ("$expires", d.PreviousSecretExpiresAt is { } e ? UnixTime.Ms(e) : DBNull.Value), ("$created", UnixTime.Ms(d.CreatedAt)));
        command.ExecuteNonQuery();
    }

    private static WebhookDefinition Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2),
        r.GetString(3).Length == 0 ? [] : r.GetString(3).Split(','),
        r.GetInt64(4) != 0, r.GetString(5),
        r.IsDBNull(6) ? null : r.GetString(6),
        r.IsDBNull(7) ? null : UnixTime.From(r.GetInt64(7)),
        UnixTime.From(r.GetInt64(8)));

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters) =>
        SqliteMessageStatusStore.Command(connection, transaction, sql, parameters);
}
