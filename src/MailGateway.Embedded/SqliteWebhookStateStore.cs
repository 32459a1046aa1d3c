using MailGateway.Core.Webhooks;
using Microsoft.Data.Sqlite;

namespace MailGateway.Embedded;

/// <summary>Webhook endpoint state in the SQLite database (table <c>webhook_endpoints</c>).</summary>
public sealed class SqliteWebhookStateStore(SqliteDatabase database, TimeProvider time) : IWebhookStateStore
{
    private const string SelectState = "SELECT after, failures, failing_since, next_attempt_at, last_status, last_error, disabled, resets FROM webhook_endpoints WHERE name = $name";

    /// <inheritdoc />
    public async Task<WebhookEndpointState?> FindAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var read = Command(connection, null, SelectState, ("$name", name));
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadState(name, reader) : null;
    }

    /// <inheritdoc />
    public async Task<WebhookEndpointState> GetOrCreateAsync(string name, CancellationToken cancellationToken)
    {
        // A read first: the dispatcher asks every round, and a known endpoint needs no write transaction.
        await using (var connection = await database.OpenAsync(cancellationToken))
        await using (var read = Command(connection, null, SelectState, ("$name", name)))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                return ReadState(name, reader);
            }
        }

        return await database.WriteAsync((connection, transaction) =>
        {
            using (var create = Command(connection, transaction,
                       "INSERT OR IGNORE INTO webhook_endpoints (name, after, updated_at) SELECT $name, coalesce(max(seq), 0), $now FROM events",
                       ("$name", name), ("$now", UnixTime.Ms(time.GetUtcNow()))))
            {
                create.ExecuteNonQuery();
            }

            using var read = Command(connection, transaction, SelectState, ("$name", name));
            using var reader = read.ExecuteReader();
            reader.Read();
            return ReadState(name, reader);
        }, cancellationToken);
    }

    private static WebhookEndpointState ReadState(string name, SqliteDataReader reader) =>
        new(name, reader.GetInt64(0), reader.GetInt32(1), Time(reader, 2), Time(reader, 3),
            reader.IsDBNull(4) ? null : reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt64(6) != 0,
            Resets: reader.GetInt64(7));

    /// <inheritdoc />
    public Task SaveAsync(WebhookEndpointState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        return database.WriteAsync((connection, transaction) =>
        {
            var now = UnixTime.Ms(time.GetUtcNow());
            using (var command = Command(connection, transaction,
                """
                UPDATE webhook_endpoints SET after = $after, failures = $failures, failing_since = $since, next_attempt_at = $next,
                    last_status = $status, last_error = $error, disabled = $disabled, updated_at = $now WHERE name = $name AND resets = $resets
                """,
                ("$name", state.Name), ("$after", state.After), ("$failures", state.Failures),
                ("$since", Ms(state.FailingSince)), ("$next", Ms(state.NextAttemptAt)), ("$status", (object?)state.LastStatus ?? DBNull.Value),
                ("$error", (object?)state.LastError ?? DBNull.Value), ("$disabled", state.Disabled ? 1 : 0), ("$now", now), ("$resets", state.Resets)))
            {
                if (command.ExecuteNonQuery() > 0)
                {
                    return 1;
                }
            }

            // Reset through the API since this state was read (or deleted): keep the reset, move the cursor forward.
            using var cursor = Command(connection, transaction,
                "UPDATE webhook_endpoints SET after = max(after, $after), updated_at = $now WHERE name = $name",
                ("$name", state.Name), ("$after", state.After), ("$now", now));
            return cursor.ExecuteNonQuery();
        }, cancellationToken);
    }

    private static object Ms(DateTimeOffset? value) => value is { } v ? UnixTime.Ms(v) : DBNull.Value;

    private static DateTimeOffset? Time(SqliteDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(column));

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters) =>
        SqliteMessageStatusStore.Command(connection, transaction, sql, parameters);
}
