using System.Globalization;
using System.Text;

namespace MailGateway.Core.Status;

/// <summary>
/// A search of status records, newest first (<see cref="IMessageOperations.ListAsync"/>). Every filter is optional;
/// they combine with AND.
/// </summary>
public sealed record MessageQuery
{
    /// <summary>The largest page a store hands out.</summary>
    public const int MaxLimit = 100;

    /// <summary>The page size when none is asked for.</summary>
    public const int DefaultLimit = 50;

    /// <summary>Only messages of this API key; null for every key's (the <c>admin</c> scope).</summary>
    public string? Owner { get; init; }

    /// <summary>Only messages in this state.</summary>
    public MessageState? State { get; init; }

    /// <summary>Only messages with this tag (exact, case-sensitive).</summary>
    public string? Tag { get; init; }

    /// <summary>Only messages with this envelope recipient (compared in <see cref="MessageListAddress.Normalize"/> form).</summary>
    public string? Recipient { get; init; }

    /// <summary>Only messages with this envelope sender (compared in <see cref="MessageListAddress.Normalize"/> form).</summary>
    public string? From { get; init; }

    /// <summary>Only messages accepted at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only messages accepted before this time.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>The page after this position (from <see cref="MessagePage.Next"/>).</summary>
    public MessageCursor? After { get; init; }

    /// <summary>The page size (1 to <see cref="MaxLimit"/>).</summary>
    public int Limit { get; init; } = DefaultLimit;
}

/// <summary>
/// The one form in which the list's <see cref="MessageQuery.Recipient"/> and <see cref="MessageQuery.From"/> filters
/// compare addresses, in every store: the stored envelope address and the query's both normalised, then compared
/// ordinally.
/// </summary>
public static class MessageListAddress
{
    private static readonly IdnMapping Idn = new();

    /// <summary>
    /// Lower-case (invariant, every Unicode letter), and an internationalised domain in its ASCII (punycode) form, so
    /// that <c>Bob@Bücher.example</c> and <c>bob@xn--bcher-kva.example</c> are the same recipient. Local parts are
    /// case-sensitive by the RFC but not in practice (as <c>SuppressionAddress</c>). No Unicode normalisation: the hosts
    /// run with invariant globalization, where <c>string.Normalize</c> does nothing, so a local part in NFD is another
    /// address than the same in NFC. Total: text that is not a valid address (a search may be anything with an
    /// <c>@</c>) is only lower-cased.
    /// </summary>
    public static string Normalize(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (Ascii.IsValid(address))
        {
            return address.ToLowerInvariant();
        }

        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1 || address[at + 1] == '[')
        {
            return address.ToLowerInvariant();
        }

        // Lower-case first: IdnMapping encodes an upper-case non-ASCII letter as itself (BÜCHER is not xn--bcher-kva).
        var domain = address[(at + 1)..].ToLowerInvariant();
        try
        {
            domain = Idn.GetAscii(domain);
        }
        catch (ArgumentException)
        {
            // Not an IDN domain: compared as written.
        }

        return address[..at].ToLowerInvariant() + "@" + domain.ToLowerInvariant();
    }
}

/// <summary>
/// A position in the newest-first order (creation time in milliseconds, then id, both descending): the keyset of the
/// next page. Opaque to clients (<see cref="Encode"/> / <see cref="TryDecode"/>).
/// </summary>
public sealed record MessageCursor(long CreatedAtMs, string Id)
{
    private const string Version = "1";
    private const int MaxEncodedLength = 512;

    /// <summary>The cursor of <paramref name="record"/>: the next page starts after it.</summary>
    public static MessageCursor Of(MessageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new(record.CreatedAt.ToUnixTimeMilliseconds(), record.Id);
    }

    /// <summary>True when <paramref name="record"/> comes after this cursor in the newest-first order.</summary>
    public bool Precedes(MessageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var ms = record.CreatedAt.ToUnixTimeMilliseconds();
        return ms < CreatedAtMs || (ms == CreatedAtMs && string.CompareOrdinal(record.Id, Id) < 0);
    }

    /// <summary>The cursor as an opaque URL-safe token.</summary>
    public string Encode() =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Version}|{CreatedAtMs.ToString(CultureInfo.InvariantCulture)}|{Id}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Reads a token made by <see cref="Encode"/>; false for anything else.</summary>
    public static bool TryDecode(string? token, out MessageCursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(token) || token.Length > MaxEncodedLength)
        {
            return false;
        }

        var base64 = token.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        var bytes = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64, bytes, out var written))
        {
            return false;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        var parts = text.Split('|', 3);
        if (parts.Length != 3 || parts[0] != Version || parts[2].Length is 0 or > 64
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || parts[2].Any(char.IsControl))
        {
            return false;
        }

        cursor = new MessageCursor(ms, parts[2]);
        return true;
    }
}

/// <summary>One page of <see cref="IMessageOperations.ListAsync"/>: the records, newest first, and the next page's cursor (null on the last page).</summary>
public sealed record MessagePage(IReadOnlyList<MessageRecord> Items, MessageCursor? Next);

/// <summary>What <see cref="IMessageOperations.CancelAsync"/> did.</summary>
public enum CancelOutcome
{
    /// <summary>The message is now <see cref="MessageState.Canceled"/>; no attempt will start.</summary>
    Canceled,

    /// <summary>No such message.</summary>
    NotFound,

    /// <summary>The message is in a state that cannot be canceled (sending, or final); nothing changed.</summary>
    NotCancelable,
}

/// <summary>The outcome of a cancel and the record after it (before it, for <see cref="CancelOutcome.NotCancelable"/>).</summary>
public sealed record CancelResult(CancelOutcome Outcome, MessageRecord? Record);

/// <summary>
/// The operator's side of the status store: search and cancel. Implemented next to each status store (SQLite, Table
/// storage), because a cancel must be atomic with respect to the worker's <see cref="IMessageStatusStore.TryBeginSendingAsync"/>.
/// </summary>
public interface IMessageOperations
{
    /// <summary>The records matching <paramref name="query"/>, newest first (creation time, then id, descending).</summary>
    Task<MessagePage> ListAsync(MessageQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Moves a <see cref="MessageStates.IsCancelable">cancelable</see> message to <see cref="MessageState.Canceled"/>,
    /// atomically against a worker that is beginning its attempt: either the cancel wins and the worker's
    /// <see cref="IMessageStatusStore.TryBeginSendingAsync"/> finds a final state (and completes the job without
    /// sending), or the worker wins and the cancel finds <see cref="MessageState.Sending"/> (NotCancelable).
    /// </summary>
    Task<CancelResult> CancelAsync(string id, string reason, CancellationToken cancellationToken);
}
