using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace MailGateway.Embedded;

/// <summary>
/// Commands kept on the single writer's connection for its lifetime, so that their statements stay prepared:
/// Microsoft.Data.Sqlite prepares a command's SQL at its first execution and reuses the statement until the text
/// changes or the command is disposed, but a new command prepares again (parse and plan on every accept). Only for the
/// writer's connection (one piece of work at a time runs on it) and the migrations before the writer starts; the
/// writer releases them before it closes the connection. A kept command is never disposed by its user.
/// </summary>
internal static class SqliteStatements
{
    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> Kept = new();

    /// <summary>
    /// The kept command of <paramref name="sql"/> on <paramref name="connection"/>, in <paramref name="transaction"/>;
    /// created with <paramref name="parameters"/> (in that order) the first time. The caller sets every parameter's
    /// value before each execution.
    /// </summary>
    internal static SqliteCommand Get(SqliteConnection connection, SqliteTransaction? transaction, string sql, params ReadOnlySpan<(string Name, SqliteType Type)> parameters)
    {
        var commands = Kept.GetOrCreateValue(connection);
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, type) in parameters)
            {
                command.Parameters.Add(name, type);
            }

            commands.Add(sql, command);
        }

        command.Transaction = transaction;
        return command;
    }

    /// <summary>
    /// The kept command of <paramref name="sql"/> (a constant: every distinct text is kept for the connection's
    /// lifetime) with the values of <paramref name="parameters"/>, set by name: the kept form of
    /// <see cref="SqliteMessageStatusStore.Command"/>, for the statements every accept or state change runs.
    /// </summary>
    internal static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params ReadOnlySpan<(string Name, object Value)> parameters)
    {
        var commands = Kept.GetOrCreateValue(connection);
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            commands.Add(sql, command);
        }

        command.Transaction = transaction;
        var list = command.Parameters;
        foreach (var (name, value) in parameters)
        {
            var index = list.IndexOf(name);
            if (index < 0)
            {
                list.AddWithValue(name, value);
            }
            else
            {
                list[index].Value = value;
            }
        }

        return command;
    }

    /// <summary>Disposes the commands kept on <paramref name="connection"/> (before it closes).</summary>
    internal static void Release(SqliteConnection connection)
    {
        if (Kept.TryGetValue(connection, out var commands))
        {
            foreach (var command in commands.Values)
            {
                command.Dispose();
            }

            commands.Clear();
            Kept.Remove(connection);
        }
    }
}
