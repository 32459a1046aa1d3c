using System.Security.Cryptography;
using System.Text.RegularExpressions;
using MailGateway.Core.Storage;
using Microsoft.Data.Sqlite;
using static MailGateway.Embedded.SqliteMessageStatusStore;

namespace MailGateway.Embedded;

/// <summary>
/// The claim check in the SQLite database (table <c>contents</c>: id, SHA-256, MIME as a BLOB), so that the composed
/// message is made durable by the same group commit as its status record and job (see <see cref="SqliteMessageAcceptor"/>):
/// no file, no per-message fsync. References are <c>db:&lt;message id&gt;</c>. References of the file store
/// (<c>yyyy/MM/dd/&lt;id&gt;.eml</c>, written before this store was the default) are still read and deleted through
/// <see cref="FileMessageContentStore"/>, so jobs queued by an older version are delivered.
/// </summary>
public sealed partial class SqliteMessageContentStore : IMessageContentStore
{
    private const string Prefix = "db:";

    private readonly SqliteDatabase _database;
    private readonly FileMessageContentStore _files;

    /// <summary>Creates the store; <paramref name="files"/> serves the references of the file store.</summary>
    public SqliteMessageContentStore(SqliteDatabase database, FileMessageContentStore files)
    {
        _database = database;
        _files = files;
    }

    /// <summary>The reference of the content of <paramref name="messageId"/> in this store.</summary>
    public static string ReferenceFor(string messageId)
    {
        if (!IdPattern().IsMatch(messageId))
        {
            throw new ArgumentException("A message id is 1-64 letters, digits or dashes.", nameof(messageId));
        }

        return Prefix + messageId;
    }

    /// <summary>
    /// Stores the MIME (committed, fsynced by the group commit). Ids are server-generated and unique: when content is
    /// already stored under the id (the idempotent replay of an accepted message recomposes it), the first one is kept.
    /// </summary>
    public async Task<string> SaveAsync(string messageId, ReadOnlyMemory<byte> mime, CancellationToken cancellationToken)
    {
        var reference = ReferenceFor(messageId);
        var sha = SHA256.HashData(mime.Span);
        await _database.WriteAsync((connection, transaction) =>
        {
            Insert(connection, transaction, reference, mime, sha);
            return true;
        }, cancellationToken);
        return reference;
    }

    /// <summary>
    /// Inserts the content inside the caller's transaction (the accept port's one transaction). <paramref name="sha256"/> is
    /// computed by the caller before it queues the write, so the single writer does not hash.
    /// </summary>
    internal static void Insert(SqliteConnection connection, SqliteTransaction transaction, string reference, ReadOnlyMemory<byte> mime, byte[] sha256)
    {
        var id = IdOf(reference) ?? throw new ArgumentException($"Not a reference of this store: {reference}", nameof(reference));
        // Kept prepared on the writer's connection (SqliteStatements), as every statement of the accept path.
        var command = SqliteStatements.Get(connection, transaction, "INSERT INTO contents (id, sha256, mime) VALUES ($id, $sha, $mime) ON CONFLICT (id) DO NOTHING",
            ("$id", SqliteType.Text), ("$sha", SqliteType.Blob), ("$mime", SqliteType.Blob));
        command.Parameters[0].Value = id;
        command.Parameters[1].Value = sha256;
        command.Parameters[2].Value = WholeArray(mime) ?? mime.ToArray();
        command.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string reference, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (IdOf(reference) is not { } id)
        {
            return await _files.OpenReadAsync(reference, cancellationToken);
        }

        await using var connection = await _database.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "SELECT sha256, mime FROM contents WHERE id = $id", ("$id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new MessageContentNotFoundException($"Message content {reference} not found.");
        }

        var sha = reader.GetFieldValue<byte[]>(0);
        var mime = reader.GetFieldValue<byte[]>(1);
        if (!SHA256.HashData(mime).AsSpan().SequenceEqual(sha))
        {
            throw new MessageContentNotFoundException($"Message content {reference} failed its integrity check.");
        }

        return new MemoryStream(mime, writable: false);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string reference, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (IdOf(reference) is not { } id)
        {
            await _files.DeleteAsync(reference, cancellationToken);
            return;
        }

        await _database.WriteAsync((connection, transaction) => Delete(connection, transaction, id), cancellationToken);
    }

    /// <summary>Deletes the content of <paramref name="id"/> (a message id) inside the caller's transaction.</summary>
    internal static int Delete(SqliteConnection connection, SqliteTransaction transaction, string id)
    {
        using var command = Command(connection, transaction, "DELETE FROM contents WHERE id = $id", ("$id", id));
        return command.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => _database.IsReadyAsync(cancellationToken);

    /// <summary>The message id of a reference of this store, or null when it is not one.</summary>
    internal static string? IdOf(string reference) =>
        reference.StartsWith(Prefix, StringComparison.Ordinal) && IdPattern().IsMatch(reference.AsSpan(Prefix.Length)) ? reference[Prefix.Length..] : null;

    private static byte[]? WholeArray(ReadOnlyMemory<byte> memory) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : null;

    [GeneratedRegex("^[A-Za-z0-9-]{1,64}$")]
    private static partial Regex IdPattern();
}
