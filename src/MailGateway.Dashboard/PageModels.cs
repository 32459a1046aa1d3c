using System.Globalization;
using MailGateway.Api;
using MailGateway.Core.Events;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;

namespace MailGateway.Dashboard;

/// <summary>What every page needs: who is looking, the antiforgery token for its forms, a notice after an action.</summary>
public sealed record PageContext(DashboardUser? User, string CsrfToken, string? Notice, bool NoticeIsError, bool MailAvailable, string MailTitle);

public sealed record SignInModel(PageContext Page, string? Error);

public sealed record MessageListModel(
    PageContext Page,
    IReadOnlyDictionary<string, string> Filters,
    IReadOnlyList<FieldError> Errors,
    IReadOnlyList<MessageRecord> Items,
    string? NextUrl);

public sealed record MessageModel(
    PageContext Page,
    MessageRecord Record,
    IReadOnlyList<MessageEvent> Events,
    MimeSummary? Content,
    string? ContentProblem,
    string? CapturedId,
    bool MayCancel);

public sealed record DeadLetterListModel(PageContext Page, IReadOnlyList<DeadLetterEntry> Items, string? NextUrl, string? Reason, IReadOnlyList<FieldError> Errors, bool Supported);

/// <summary>
/// The queue page: each part null when this host cannot give it (<paramref name="Unavailable"/> says why, and
/// <paramref name="QueueMissing"/> why the queue's numbers are missing this time).
/// </summary>
public sealed record QueueModel(
    PageContext Page, QueueOverview? Queue, string? QueueMissing, OutcomeHistory? History, IReadOnlyDictionary<string, long>? States, TimeSpan Window, int MaxEvents,
    string? Unavailable);

public sealed record MailListModel(PageContext Page, string? Query, MailFilePage Result, string? PreviousUrl, string? NextUrl, string? Problem);

public sealed record MailModel(PageContext Page, MailFile File, MimeSummary? Content, string? ContentProblem);

public sealed record ErrorModel(PageContext Page, int Status, string Title, string Detail);

/// <summary>Formatting shared by the pages (invariant culture, UTC).</summary>
public static class Show
{
    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "—";

    public static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan span) =>
        span.TotalSeconds < 1 ? $"{span.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms"
        : span.TotalMinutes < 1 ? $"{span.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s"
        : span.TotalHours < 1 ? $"{span.TotalMinutes.ToString("0", CultureInfo.InvariantCulture)} min"
        : span.TotalDays < 1 ? $"{span.TotalHours.ToString("0.#", CultureInfo.InvariantCulture)} h"
        : $"{span.TotalDays.ToString("0.#", CultureInfo.InvariantCulture)} d";

    public static string Bytes(long? bytes) => bytes switch
    {
        null => "—",
        < 1024 => $"{bytes.Value.ToString(CultureInfo.InvariantCulture)} B",
        < 1024 * 1024 => $"{(bytes.Value / 1024.0).ToString("0.#", CultureInfo.InvariantCulture)} KB",
        _ => $"{(bytes.Value / 1024.0 / 1024.0).ToString("0.#", CultureInfo.InvariantCulture)} MB",
    };

    public static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string State(MessageState state) => state.ToString().ToLowerInvariant();

    public static string Path(string id) => Uri.EscapeDataString(id);
}
