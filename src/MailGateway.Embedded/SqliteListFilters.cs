using System.Text.Json;
using MailGateway.Core.Messages;
using MailGateway.Core.Status;
using Microsoft.Data.Sqlite;

namespace MailGateway.Embedded;

/// <summary>
/// The index of the list's recipient, tag and sender filters: table <c>message_filters</c>, one row per envelope
/// recipient, tag and the envelope sender of a message — <c>(kind, value, created_at, id, owner)</c>, addresses in
/// <see cref="MessageListAddress.Normalize"/> form, tags as given — keyed <c>(kind, value, created_at, id)</c> so a
/// filtered page is a range of the key, newest first, and indexed <c>(owner, kind, value, created_at, id)</c> so a
/// key's search is a range too, however many other keys' messages match.
/// <para>
/// Written by the status store's insert of the message row (the accept path, single and batch) in the same
/// transaction, from the values at hand — no JSON parsed in SQL — with one statement kept prepared on the writer's
/// connection (<see cref="SqliteStatements"/>); removed with the row (retention, delete), the keys computed again from
/// the stored record. The envelope, the tags, <c>created_at</c> and the owner of a record never change after accept,
/// so no update touches the rows. Created and back-filled once by <see cref="MigrateAsync"/>.
/// </para>
/// </summary>
internal static class SqliteListFilters
{
    /// <summary>The kind of an envelope recipient's row.</summary>
    internal const string Recipient = "r";

    /// <summary>The kind of a tag's row.</summary>
    internal const string Tag = "t";

    /// <summary>The kind of the envelope sender's row.</summary>
    internal const string From = "f";

    private const string InsertSql = "INSERT OR IGNORE INTO message_filters (kind, value, created_at, id, owner) VALUES ($kind, $value, $created, $id, $owner)";
    private const string DeleteSql = "DELETE FROM message_filters WHERE kind = $kind AND value = $value AND created_at = $created AND id = $id";

    private static readonly (string, SqliteType)[] InsertParameters =
        [("$kind", SqliteType.Text), ("$value", SqliteType.Text), ("$created", SqliteType.Integer), ("$id", SqliteType.Text), ("$owner", SqliteType.Text)];

    private static readonly (string, SqliteType)[] DeleteParameters =
        [("$kind", SqliteType.Text), ("$value", SqliteType.Text), ("$created", SqliteType.Integer), ("$id", SqliteType.Text)];

    /// <summary>Writes the rows of <paramref name="record"/> in the caller's transaction (the message row's insert).</summary>
    internal static void Insert(SqliteConnection connection, SqliteTransaction transaction, MessageRecord record)
    {
        if (record.Envelope is null && record.Tags.Count == 0)
        {
            return;
        }

        var command = SqliteStatements.Get(connection, transaction, InsertSql, InsertParameters);
        var parameters = command.Parameters;
        parameters[2].Value = UnixTime.Ms(record.CreatedAt);
        parameters[3].Value = record.Id;
        parameters[4].Value = record.Owner;
        // A value twice in one message (a recipient in two spellings, a repeated tag) is one row: OR IGNORE on the key.
        ForEachKey(record.Tags, record.Envelope, (kind, value) =>
        {
            parameters[0].Value = kind;
            parameters[1].Value = value;
            command.ExecuteNonQuery();
        });
    }

    /// <summary>
    /// Removes the rows of the message <paramref name="id"/> whose stored record is <paramref name="recordJson"/>, in
    /// the caller's transaction (the message row's delete). A record that is not readable has its rows found by a scan.
    /// </summary>
    internal static void Delete(SqliteConnection connection, SqliteTransaction transaction, string id, long? createdAt, string recordJson)
    {
        ListFilterFields? fields;
        try
        {
            fields = JsonSerializer.Deserialize(recordJson, EmbeddedJsonContext.Default.ListFilterFields);
        }
        catch (JsonException)
        {
            fields = null;
        }

        if (fields is null || createdAt is not { } created)
        {
            using var scan = SqliteMessageStatusStore.Command(connection, transaction, "DELETE FROM message_filters WHERE id = $id", ("$id", id));
            scan.ExecuteNonQuery();
            return;
        }

        var command = SqliteStatements.Get(connection, transaction, DeleteSql, DeleteParameters);
        var parameters = command.Parameters;
        parameters[2].Value = created;
        parameters[3].Value = id;
        ForEachKey(fields.Tags ?? [], fields.Envelope, (kind, value) =>
        {
            parameters[0].Value = kind;
            parameters[1].Value = value;
            command.ExecuteNonQuery();
        });
    }

    /// <summary>The (kind, value) of each filter row of a message with <paramref name="tags"/> and <paramref name="envelope"/>.</summary>
    internal static void ForEachKey(IReadOnlyList<string> tags, Envelope? envelope, Action<string, string> action)
    {
        if (envelope is not null)
        {
            // Null lists and items only in a stored record written by hand (the JSON does not enforce them).
            if (envelope.Recipients is { } recipients)
            {
                foreach (var recipient in recipients)
                {
                    if (recipient is not null)
                    {
                        action(Recipient, MessageListAddress.Normalize(recipient));
                    }
                }
            }

            // The null reverse path (<>) has no address to search for.
            if (!string.IsNullOrEmpty(envelope.MailFrom))
            {
                action(From, MessageListAddress.Normalize(envelope.MailFrom));
            }
        }

        foreach (var tag in tags)
        {
            if (tag is not null)
            {
                action(Tag, tag);
            }
        }
    }

    /// <summary>
    /// Creates the table and fills it from the stored records, once: a database without the table (a new one, or one
    /// made by an earlier version). One transaction, so a crash leaves no table and the next start does it again. The
    /// rows are collected in a temporary table first and copied in key order, so the key and the owner index are built
    /// by appending rather than by a random insert per row.
    /// </summary>
    internal static async Task MigrateAsync(SqliteConnection connection)
    {
        await using (var probe = connection.CreateCommand())
        {
            probe.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'message_filters'";
            if ((long)(await probe.ExecuteScalarAsync())! != 0)
            {
                return;
            }
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        await using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = """
                CREATE TEMP TABLE message_filters_backfill (kind TEXT NOT NULL, value TEXT NOT NULL, created_at INTEGER NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL);
                CREATE TABLE message_filters (
                    kind TEXT NOT NULL,
                    value TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    id TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    PRIMARY KEY (kind, value, created_at, id)
                ) WITHOUT ROWID;
                """;
            await create.ExecuteNonQueryAsync();
        }

        await using (var read = connection.CreateCommand())
        await using (var insert = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT id, owner, created_at, record FROM messages WHERE created_at IS NOT NULL";
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO message_filters_backfill (kind, value, created_at, id, owner) VALUES ($kind, $value, $created, $id, $owner)";
            var kind = insert.Parameters.Add("$kind", SqliteType.Text);
            var value = insert.Parameters.Add("$value", SqliteType.Text);
            var created = insert.Parameters.Add("$created", SqliteType.Integer);
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var owner = insert.Parameters.Add("$owner", SqliteType.Text);
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                ListFilterFields? fields;
                try
                {
                    fields = JsonSerializer.Deserialize(reader.GetString(3), EmbeddedJsonContext.Default.ListFilterFields);
                }
                catch (JsonException)
                {
                    continue; // a record that is not readable: the filters never found it (the earlier scan stopped at it)
                }

                if (fields is null)
                {
                    continue;
                }

                id.Value = reader.GetString(0);
                owner.Value = reader.GetString(1);
                created.Value = reader.GetInt64(2);
                ForEachKey(fields.Tags ?? [], fields.Envelope, (k, v) =>
                {
                    kind.Value = k;
                    value.Value = v;
                    insert.ExecuteNonQuery();
                });
            }
        }

        await using (var copy = connection.CreateCommand())
        {
            copy.Transaction = transaction;
            copy.CommandText = """
                INSERT OR IGNORE INTO message_filters (kind, value, created_at, id, owner)
                    SELECT kind, value, created_at, id, owner FROM message_filters_backfill ORDER BY kind, value, created_at, id;
                CREATE INDEX message_filters_owner ON message_filters (owner, kind, value, created_at, id);
                DROP TABLE temp.message_filters_backfill;
                """;
            await copy.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }
}

/// <summary>What the filter rows of a stored record are made of (the rest of the record is skipped when it is read).</summary>
internal sealed record ListFilterFields(IReadOnlyList<string>? Tags, Envelope? Envelope);
