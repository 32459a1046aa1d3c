namespace MailGateway.Core.Suppressions;

/// <summary>Why an address is on a suppression list (the <c>reason</c> of an entry).</summary>
public static class SuppressionReasons
{
    /// <summary>Added through the API.</summary>
    public const string Manual = "manual";

    /// <summary>The relay refused the recipient permanently as a bad address (a 5.1.x reply to RCPT TO).</summary>
    public const string HardBounce = "hard_bounce";

    /// <summary>A delivery status notification to the bounce domain reported a permanent failure.</summary>
    public const string Bounce = "bounce";

    /// <summary>An abuse report (ARF, RFC 5965) to the bounce domain.</summary>
    public const string Complaint = "complaint";

    /// <summary>Every reason.</summary>
    public static readonly IReadOnlyList<string> All = [Manual, HardBounce, Bounce, Complaint];
}

/// <summary>One address a key does not send to.</summary>
/// <param name="Owner">The API key whose messages are not sent to <paramref name="Address"/>.</param>
/// <param name="Address">The address, normalized by <see cref="SuppressionAddress.Normalize"/>.</param>
/// <param name="Reason">Why (<see cref="SuppressionReasons"/>).</param>
/// <param name="CreatedAt">When it was added (or last replaced).</param>
/// <param name="ExpiresAt">When it stops applying; null for never.</param>
/// <param name="Detail">The reply or report that caused it (never more than <see cref="SuppressionAddress.MaxDetailLength"/> characters), or the caller's note.</param>
/// <param name="MessageId">The message whose bounce caused it, when one did.</param>
public sealed record SuppressionEntry(
    string Owner,
    string Address,
    string Reason,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    string? Detail = null,
    string? MessageId = null)
{
    /// <summary>True when the entry applies at <paramref name="now"/>.</summary>
    public bool IsActiveAt(DateTimeOffset now) => ExpiresAt is not { } expires || expires > now;
}

/// <summary>A page query of the list: one key's entries (or every key's), after a cursor, in address order.</summary>
/// <param name="Owner">The key; null for every key (an admin's view).</param>
/// <param name="Now">Entries expired at this time are left out.</param>
/// <param name="After">The cursor: the (owner, address) of the last entry of the previous page, or null.</param>
/// <param name="Limit">The most entries to return.</param>
/// <param name="Address">Only this (normalized) address, when set.</param>
public sealed record SuppressionQuery(string? Owner, DateTimeOffset Now, (string Owner, string Address)? After, int Limit, string? Address = null);

/// <summary>
/// The suppression list of every API key (SQLite in the standalone host, Table storage in the Azure hosts). The delivery handler asks it just before
/// contacting the relay, so an address added while a message waits in the queue is still protected.
/// </summary>
public interface ISuppressionList
{
    /// <summary>Of <paramref name="addresses"/>, the ones <paramref name="owner"/> has an active entry for at <paramref name="now"/> (compared normalized).</summary>
    Task<IReadOnlySet<string>> FindAsync(string owner, IReadOnlyList<string> addresses, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Adds the entry, or replaces the existing one of the same (owner, address).</summary>
    Task AddAsync(SuppressionEntry entry, CancellationToken cancellationToken);

    /// <summary>Removes the entry; false when there was none.</summary>
    Task<bool> RemoveAsync(string owner, string address, CancellationToken cancellationToken);

    /// <summary>A page of active entries, ordered by (owner, address).</summary>
    Task<IReadOnlyList<SuppressionEntry>> ListAsync(SuppressionQuery query, CancellationToken cancellationToken);
}

/// <summary>
/// The list of a host without one: nothing is suppressed, nothing is kept. The standalone host registers its SQLite
/// list instead, the Azure hosts their Table list.
/// </summary>
public sealed class NoSuppressionList : ISuppressionList
{
    private static readonly IReadOnlySet<string> None = new HashSet<string>();

    /// <inheritdoc />
    public Task<IReadOnlySet<string>> FindAsync(string owner, IReadOnlyList<string> addresses, DateTimeOffset now, CancellationToken cancellationToken) => Task.FromResult(None);

    /// <inheritdoc />
    public Task AddAsync(SuppressionEntry entry, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task<bool> RemoveAsync(string owner, string address, CancellationToken cancellationToken) => Task.FromResult(false);

    /// <inheritdoc />
    public Task<IReadOnlyList<SuppressionEntry>> ListAsync(SuppressionQuery query, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<SuppressionEntry>>([]);
}

/// <summary>The one comparison form of a suppressed address and the limits of an entry.</summary>
public static class SuppressionAddress
{
    /// <summary>The longest detail kept.</summary>
    public const int MaxDetailLength = 512;

    /// <summary>
    /// The form addresses are compared in: trimmed, lower-case (invariant). Local parts are case-sensitive by the RFC
    /// but not in practice; suppressing <c>Bob@</c> and <c>bob@</c> together is the safe side.
    /// </summary>
    public static string Normalize(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.Trim().ToLowerInvariant();
    }

    /// <summary><paramref name="text"/> cut to <see cref="MaxDetailLength"/> characters, without control characters.</summary>
    public static string? Detail(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var clean = new string([.. text.Select(c => char.IsControl(c) ? ' ' : c)]).Trim();
        return clean.Length > MaxDetailLength ? clean[..MaxDetailLength] : clean;
    }
}
