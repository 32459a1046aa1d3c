using System.Text.Json;
using MailGateway.Core.Delivery;
using MailGateway.Core.Events;
using MailGateway.Core.Status;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>Status records and idempotency keys in the SQLite database. The record itself is stored as JSON.</summary>
public sealed class SqliteMessageStatusStore : IMessageStatusStore
{
    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idempotencyRetention;

    /// <summary>Creates the store.</summary>
    public SqliteMessageStatusStore(SqliteDatabase database, IOptions<EmbeddedStorageOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _database = database;
        _time = time;
        _idempotencyRetention = options.Value.IdempotencyKeyRetention;
    }

    /// <inheritdoc />
    public Task<CreateMessageResult> CreateAsync(MessageRecord record, IdempotencyClaim? idempotency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var oldest = UnixTime.Ms(_time.GetUtcNow() - _idempotencyRetention);
        return _database.WriteAsync((connection, transaction) => Create(connection, transaction, record, idempotency, oldest), cancellationToken);
    }

    /// <summary>The idempotency key's retention, as the oldest creation time still remembered.</summary>
    internal long OldestRememberedKey() => UnixTime.Ms(_time.GetUtcNow() - _idempotencyRetention);

    internal static CreateMessageResult Create(SqliteConnection connection, SqliteTransaction transaction, MessageRecord record, IdempotencyClaim? idempotency, long oldest)
    {
        if (idempotency is not null)
        {
            var find = SqliteStatements.Command(connection, transaction,
                "SELECT message_id, request_hash, created_at FROM idempotency_keys WHERE owner = $owner AND key = $key",
                ("$owner", idempotency.Owner), ("$key", idempotency.Key));
            using var reader = find.ExecuteReader();
            if (reader.Read())
            {
                if (reader.GetInt64(2) >= oldest)
                {
                    return new CreateMessageResult(false, reader.GetString(0), reader.GetString(1));
                }

                reader.Close();
                SqliteStatements.Command(connection, transaction, "DELETE FROM idempotency_keys WHERE owner = $owner AND key = $key",
                    ("$owner", idempotency.Owner), ("$key", idempotency.Key)).ExecuteNonQuery();
            }
        }

        // Kept prepared on the writer's connection (SqliteStatements), as every statement of the accept path.
        SqliteStatements.Command(connection, transaction,
            "INSERT INTO messages (id, owner, state, updated_at, record, created_at) VALUES ($id, $owner, $state, $updated, $record, $created)",
            ("$id", record.Id), ("$owner", record.Owner), ("$state", record.State.ToString()),
            ("$updated", UnixTime.Ms(record.UpdatedAt)), ("$record", JsonSerializer.Serialize(record, EmbeddedJsonContext.Default.MessageRecord)),
            ("$created", UnixTime.Ms(record.CreatedAt))).ExecuteNonQuery();

        SqliteListFilters.Insert(connection, transaction, record);
        SqliteMessageEventStore.Insert(connection, transaction, MessageEvents.ForAccept(record));

        if (idempotency is not null)
        {
            SqliteStatements.Command(connection, transaction,
                "INSERT INTO idempotency_keys (owner, key, request_hash, message_id, created_at) VALUES ($owner, $key, $hash, $id, $created)",
                ("$owner", idempotency.Owner), ("$key", idempotency.Key), ("$hash", idempotency.RequestHash), ("$id", record.Id),
                ("$created", UnixTime.Ms(idempotency.CreatedAt))).ExecuteNonQuery();
        }

        return new CreateMessageResult(true, record.Id, idempotency?.RequestHash ?? string.Empty);
    }

    /// <inheritdoc />
    public async Task<MessageRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "SELECT record FROM messages WHERE id = $id", ("$id", id));
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? Deserialize(json) : null;
    }

    /// <inheritdoc />
    public Task<MessageRecord?> TryBeginSendingAsync(string id, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            var before = Read(connection, transaction, id);
            if (before is null || before.State.IsFinal())
            {
                return before;
            }

            Write(connection, transaction, before with { State = MessageState.Sending, UpdatedAt = _time.GetUtcNow() });
            return before;
        }, cancellationToken);

    /// <inheritdoc />
    public Task RecordAttemptAsync(string id, DeliveryAttemptRecord attempt, MessageState newState, IReadOnlyList<RecipientResult> recipients, DateTimeOffset? nextAttemptAt, string? lastReply, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            var record = Read(connection, transaction, id) ?? throw new InvalidOperationException($"No status record {id}.");
            return AppendAttempt(connection, transaction, record, attempt, newState, recipients, nextAttemptAt, lastReply, _time.GetUtcNow());
        }, cancellationToken);

    /// <summary>Appends an attempt to <paramref name="record"/> and writes its new state, inside the caller's transaction.</summary>
    internal static bool AppendAttempt(SqliteConnection connection, SqliteTransaction transaction, MessageRecord record, DeliveryAttemptRecord attempt, MessageState newState, IReadOnlyList<RecipientResult> recipients, DateTimeOffset? nextAttemptAt, string? lastReply, DateTimeOffset now)
    {
        var after = record with
        {
            State = newState,
            UpdatedAt = now,
            Attempts = [.. record.Attempts, attempt],
            Recipients = recipients,
            NextAttemptAt = nextAttemptAt,
            LastReply = lastReply,
        };
        Write(connection, transaction, after);
        // The attempt's events in the same transaction as the state change (the outbox).
        SqliteMessageEventStore.Insert(connection, transaction, MessageEvents.ForAttempt(record, after, attempt));
        return true;
    }

    /// <inheritdoc />
    public Task SetStateAsync(string id, MessageState state, string? lastReply, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            var record = Read(connection, transaction, id);
            if (record is not null)
            {
                var after = record with { State = state, UpdatedAt = _time.GetUtcNow(), LastReply = lastReply, NextAttemptAt = null };
                Write(connection, transaction, after);
                SqliteMessageEventStore.Insert(connection, transaction, MessageEvents.ForState(after));
            }

            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task DeleteAsync(string id, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) => DeleteRow(connection, transaction, id), cancellationToken);

    /// <summary>Deletes the message row and its list filter rows in the caller's transaction; false when there was none.</summary>
    internal static bool DeleteRow(SqliteConnection connection, SqliteTransaction transaction, string id)
    {
        using var command = Command(connection, transaction, "DELETE FROM messages WHERE id = $id RETURNING created_at, record", ("$id", id));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return false;
        }

        var createdAt = reader.IsDBNull(0) ? (long?)null : reader.GetInt64(0);
        var record = reader.GetString(1);
        reader.Close();
        SqliteListFilters.Delete(connection, transaction, id, createdAt, record);
        return true;
    }

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => _database.IsReadyAsync(cancellationToken);

    /// <summary>Forgets idempotency keys older than the retention; returns how many were removed.</summary>
    public Task<int> PurgeIdempotencyKeysAsync(CancellationToken cancellationToken)
    {
        var oldest = UnixTime.Ms(_time.GetUtcNow() - _idempotencyRetention);
        return _database.WriteAsync((connection, transaction) =>
        {
            using var command = Command(connection, transaction, "DELETE FROM idempotency_keys WHERE created_at < $oldest", ("$oldest", oldest));
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    internal static MessageRecord? Read(SqliteConnection connection, SqliteTransaction transaction, string id)
    {
        using var command = Command(connection, transaction, "SELECT record FROM messages WHERE id = $id", ("$id", id));
        return command.ExecuteScalar() is string json ? Deserialize(json) : null;
    }

    internal static void WriteRecord(SqliteConnection connection, SqliteTransaction transaction, MessageRecord record) => Write(connection, transaction, record);

    private static void Write(SqliteConnection connection, SqliteTransaction transaction, MessageRecord record)
    {
        using var command = Command(connection, transaction,
            "UPDATE messages SET state = $state, updated_at = $updated, record = $record WHERE id = $id",
            ("$id", record.Id), ("$state", record.State.ToString()), ("$updated", UnixTime.Ms(record.UpdatedAt)),
            ("$record", JsonSerializer.Serialize(record, EmbeddedJsonContext.Default.MessageRecord)));
        command.ExecuteNonQuery();
    }

    /// <summary>The content reference in a stored record, or null (an unreadable record has none to remove).</summary>
    internal static string? ContentReferenceOf(string json)
    {
        try
        {
            return Deserialize(json).ContentReference;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static MessageRecord Deserialize(string json) =>
        JsonSerializer.Deserialize(json, EmbeddedJsonContext.Default.MessageRecord) ?? throw new InvalidDataException("Empty status record.");

    internal static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
