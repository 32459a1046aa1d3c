using System.Globalization;
using MailGateway.Api;
using MailGateway.Core.Events;
using MailGateway.Core.Keys;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Dashboard.Pages;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using MimeKit;

namespace MailGateway.Dashboard;

/// <summary>
/// The pages and actions of the dashboard. Each handler authenticates (<see cref="DashboardAccess"/>), checks the scope
/// its page or action needs, validates every parameter and renders a Razor component on the server
/// (<see cref="RazorComponentResult"/>: static server rendering, no script). Every form posts with an antiforgery token
/// and is answered with a redirect (post/redirect/get), so no state change is ever repeated by a reload.
/// </summary>
internal sealed partial class DashboardEndpoints(
    DashboardAccess access,
    DashboardRateLimiter limiter,
    IAntiforgery antiforgery,
    IDashboardMail mail,
    IMessageStatusStore status,
    IMessageOperations operations,
    IDeadLetterStore deadLetters,
    IMessageEventStore events,
    IMessageContentStore contents,
    IOperationsOverview overview,
    TimeProvider time,
    ILogger<DashboardEndpoints> logger)
{
    private const int MaxFormBytes = 16 * 1024;
    private const int MaxKeyLength = 512;

    private static readonly Dictionary<string, string> Done = new(StringComparer.Ordinal)
    {
        ["canceled"] = "The message is canceled: it will not be sent.",
        ["replayed"] = "The dead letter is back on the queue as a new attempt.",
        ["purged"] = "The dead letter and its stored content are removed.",
        ["signed_out"] = "You are signed out.",
    };

    private static readonly Dictionary<string, string> Failed = new(StringComparer.Ordinal)
    {
        ["not_cancelable"] = "The message cannot be canceled any more: only queued, scheduled and deferred messages can.",
        ["not_replayable"] = "This dead letter cannot be replayed (not a readable job, its status record is gone, or the message has a job already); purge it instead.",
        ["not_found"] = "It is not there any more (another operator or the API may have acted on it first).",
        ["invalid_key"] = "That key is not valid here.",
        ["no_read_scope"] = "That key has no read scope: the dashboard needs read (its own messages) or admin (everything).",
        ["message_not_found"] = "No stored mail has that Message-ID.",
    };

    private static readonly string[] DeadLetterReasonNames =
    [
        DeadLetterReasons.Failed, DeadLetterReasons.Expired, DeadLetterReasons.Unknown, DeadLetterReasons.ContentMissing,
        DeadLetterReasons.MalformedJob, DeadLetterReasons.TooManyDeliveries,
    ];

    // ---- sign-in ----

    public async Task<IResult> SignInPageAsync(HttpContext context)
    {
        if (await access.UserAsync(context) is not null)
        {
            return Results.Redirect("/ui/messages");
        }

        var error = Notice(context.Request.Query, "failed", Failed);
        var page = PageOf(context, null);
        // A refusal is shown once, next to the form (an alert), not also as the page's notice.
        return Page<SignInPage>(new SignInModel(error is null ? page : page with { Notice = null }, error), error is null ? 200 : 401);
    }

    public async Task<IResult> SignInAsync(HttpContext context)
    {
        if (limiter.SignInAttempt(context) is { } retry)
        {
            return TooMany(context, null, retry);
        }

        if (await ReadFormAsync(context) is { } refusal)
        {
            return refusal;
        }

        var key = Single(context.Request.Form, "key");
        var verified = key is { Length: > 0 and <= MaxKeyLength } && !key.Any(char.IsControl) ? access.Verify(key) : null;
        if (verified is null)
        {
            LogSignInRefused(context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
            return SeeOther("/ui/sign-in?failed=invalid_key");
        }

        if (!verified.Has(ApiKeyScopes.Read))
        {
            return SeeOther("/ui/sign-in?failed=no_read_scope");
        }

        await access.SignInAsync(context, verified);
        LogSignedIn(verified.Id);
        return SeeOther(ReturnUrl(Single(context.Request.Query, "return")));
    }

    public async Task<IResult> SignOutAsync(HttpContext context)
    {
        // The session's principal first: the form's token was issued to it.
        _ = await access.UserAsync(context);
        if (await ReadFormAsync(context) is { } refusal)
        {
            return refusal;
        }

        await access.SignOutAsync(context);
        return SeeOther("/ui/sign-in?done=signed_out");
    }

    // ---- messages ----

    public async Task<IResult> MessagesAsync(HttpContext context)
    {
        var (user, refusal) = await EnterAsync(context);
        if (user is null)
        {
            return refusal!;
        }

        var filters = FilterParameters(context.Request.Query);
        var (query, errors) = MessagesApi.ParseListQuery(new QueryCollection(filters));
        var shown = filters.Where(f => f.Key != "cursor").ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal);
        if (query is null)
        {
            return Page<MessagesPage>(new MessageListModel(PageOf(context, user), shown, errors, [], null), 400);
        }

        var page = await operations.ListAsync(query with { Owner = user.OwnerFilter }, context.RequestAborted);
        string? next = null;
        if (page.Next is { } cursor)
        {
            var parameters = filters.Where(f => f.Key != "cursor").Select(f => KeyValuePair.Create(f.Key, (string?)f.Value.ToString()))
                .Append(KeyValuePair.Create("cursor", (string?)cursor.Encode()));
            next = "/ui/messages" + QueryString.Create(parameters);
        }

        return Page<MessagesPage>(new MessageListModel(PageOf(context, user), shown, [], page.Items, next));
    }

    public async Task<IResult> MessageAsync(HttpContext context, string id)
    {
        var (user, refusal) = await EnterAsync(context);
        if (user is null)
        {
            return refusal!;
        }

        if (await VisibleMessageAsync(user, id, context.RequestAborted) is not { } record)
        {
            return NotFound(context, user, "No message with this id that this key may see.");
        }

        var log = await events.ReadAsync(new MessageEventQuery(null, 0, 500, MessageId: record.Id), context.RequestAborted);
        MimeSummary? content = null;
        string? problem = null;
        string? captured = null;
        var (message, size, missing) = await LoadOutboundAsync(record, context.RequestAborted);
        if (message is not null)
        {
            using (message)
            {
                content = MimeView.Summarize(message, size);
            }
        }
        else
        {
            problem = missing;
            if (mail.CapturesDeliveries && user.IsAdmin)
            {
                captured = mail.FindByMessageId(record.Id, gatewayId: true)?.Metadata.Id;
            }
        }

        return Page<Pages.MessagePage>(new MessageModel(PageOf(context, user), record, log, content, problem, captured,
            record.State.IsCancelable() && user.MayAct(record.Owner)));
    }

    public Task<IResult> MessageBodyAsync(HttpContext context, string id) =>
        WithOutboundAsync(context, id, message => HtmlBody(context, message));

    public Task<IResult> MessageRawAsync(HttpContext context, string id) =>
        WithOutboundAsync(context, id, message => Raw(context, message));

    public Task<IResult> MessageAttachmentAsync(HttpContext context, string id, string index) =>
        WithOutboundAsync(context, id, message => Attachment(context, message, index));

    public async Task<IResult> CancelAsync(HttpContext context, string id)
    {
        var (user, refusal) = await EnterAsync(context, form: true);
        if (user is null)
        {
            return refusal!;
        }

        if (await VisibleMessageAsync(user, id, context.RequestAborted) is not { } record)
        {
            return NotFound(context, user, "No message with this id that this key may see.");
        }

        if (!user.MayAct(record.Owner))
        {
            return Error(context, user, 403, "Not allowed", "Canceling needs the send scope (for this key's own messages) or admin.");
        }

        var result = await operations.CancelAsync(record.Id, $"Canceled {user.Actor}.", CancellationToken.None);
        LogAction("cancel", record.Id, user.Name, result.Outcome.ToString());
        var target = "/ui/messages/" + Show.Path(record.Id);
        return SeeOther(result.Outcome switch
        {
            CancelOutcome.Canceled => target + "?done=canceled",
            CancelOutcome.NotCancelable => target + "?failed=not_cancelable",
            _ => target + "?failed=not_found",
        });
    }

    // ---- dead letters ----

    public async Task<IResult> DeadLettersAsync(HttpContext context)
    {
        var (user, refusal) = await EnterAsync(context);
        if (user is null)
        {
            return refusal!;
        }

        var parameters = FilterParameters(context.Request.Query);
        var errors = QueryParameters.Check(new QueryCollection(parameters), ["reason", "cursor"]);
        string? reason = null;
        if (parameters.TryGetValue("reason", out var r) && r.Count == 1)
        {
            reason = DeadLetterReasonNames.FirstOrDefault(x => string.Equals(x, r[0], StringComparison.Ordinal));
            if (reason is null)
            {
                errors.Add(new FieldError("reason", ApiErrorCodes.InvalidReason, $"One of {string.Join(", ", DeadLetterReasonNames)}."));
            }
        }

        string? cursor = null;
        if (parameters.TryGetValue("cursor", out var c) && c.Count == 1)
        {
            cursor = c[0];
            if (cursor is not { Length: > 0 and <= 19 } || !cursor.All(char.IsAsciiDigit))
            {
                errors.Add(new FieldError("cursor", ApiErrorCodes.InvalidCursor, "Not a cursor from a previous page."));
            }
        }

        if (errors.Count > 0)
        {
            return Page<DeadLettersPage>(new DeadLetterListModel(PageOf(context, user), [], null, reason, errors, true), 400);
        }

        try
        {
            var page = await deadLetters.ListAsync(new DeadLetterQuery { Owner = user.OwnerFilter, Reason = reason, After = cursor, Limit = 50 }, context.RequestAborted);
            var next = page.Next is { } n
                ? "/ui/dead-letters" + QueryString.Create(new[] { KeyValuePair.Create("reason", reason), KeyValuePair.Create("cursor", (string?)n) }.Where(p => p.Value is not null))
                : null;
            return Page<DeadLettersPage>(new DeadLetterListModel(PageOf(context, user), page.Items, next, reason, [], true));
        }
        catch (NotSupportedException)
        {
            return Page<DeadLettersPage>(new DeadLetterListModel(PageOf(context, user), [], null, null, [], false));
        }
    }

    public Task<IResult> ReplayAsync(HttpContext context, string id) => DeadLetterActionAsync(context, id, replay: true);

    public Task<IResult> PurgeAsync(HttpContext context, string id) => DeadLetterActionAsync(context, id, replay: false);

    private async Task<IResult> DeadLetterActionAsync(HttpContext context, string id, bool replay)
    {
        var (user, refusal) = await EnterAsync(context, form: true);
        if (user is null)
        {
            return refusal!;
        }

        var entry = id is { Length: > 0 and <= 19 } && id.All(char.IsAsciiDigit) ? await deadLetters.GetAsync(id, context.RequestAborted) : null;
        if (entry is null || !user.MaySee(entry.Owner))
        {
            return SeeOther("/ui/dead-letters?failed=not_found");
        }

        if (!user.MayAct(entry.Owner))
        {
            return Error(context, user, 403, "Not allowed", "Replay and purge need the send scope (for this key's own messages) or admin.");
        }

        string outcome;
        if (replay)
        {
            var result = await deadLetters.ReplayAsync(entry.Id, $"Replayed {user.Actor}.", CancellationToken.None);
            outcome = result.Outcome switch
            {
                ReplayOutcome.Replayed => "done=replayed",
                ReplayOutcome.NotReplayable => "failed=not_replayable",
                _ => "failed=not_found",
            };
        }
        else
        {
            outcome = await deadLetters.PurgeAsync(entry.Id, CancellationToken.None) ? "done=purged" : "failed=not_found";
        }

        LogAction(replay ? "replay" : "purge", entry.MessageId, user.Name, outcome);
        return SeeOther("/ui/dead-letters?" + outcome);
    }

    // ---- queue ----

    public async Task<IResult> QueueAsync(HttpContext context)
    {
        var (user, refusal) = await EnterAsync(context, admin: true);
        if (user is null)
        {
            return refusal!;
        }

        if (context.Request.Query.Count > 0)
        {
            return Error(context, user, 400, "Unknown parameter", "This page takes no query parameters.");
        }

        var window = TimeSpan.FromHours(24);
        var queue = await overview.QueueAsync(context.RequestAborted);
        var history = await overview.OutcomesAsync(window, 24, context.RequestAborted);
        var states = await overview.StatesAsync(context.RequestAborted);
        return Page<QueuePage>(new Dictionary<string, object?>
        {
            [nameof(QueuePage.Model)] = new QueueModel(PageOf(context, user), queue.Queue, queue.Reason, history, states, window, overview.MaxEvents, overview.Unavailable),
            [nameof(QueuePage.Now)] = time.GetUtcNow(),
        });
    }

    // ---- the listener's mail ----

    public async Task<IResult> MailListAsync(HttpContext context)
    {
        var (user, refusal) = await EnterAsync(context, admin: true);
        if (user is null)
        {
            return refusal!;
        }

        if (!mail.Available)
        {
            return NotFound(context, user, mail.UnavailableReason);
        }

        var parameters = FilterParameters(context.Request.Query);
        var errors = QueryParameters.Check(new QueryCollection(parameters), ["q", "offset", "messageId"]);
        var q = parameters.TryGetValue("q", out var qv) ? qv.ToString() : null;
        if (q is not null && (q.Length > 320 || q.Any(char.IsControl)))
        {
            errors.Add(new FieldError("q", ApiErrorCodes.InvalidValue, "At most 320 characters without control characters."));
        }

        var offset = 0;
        if (parameters.TryGetValue("offset", out var ov) && (!int.TryParse(ov.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out offset) || offset > IDashboardMail.MaxScan))
        {
            errors.Add(new FieldError("offset", ApiErrorCodes.InvalidValue, $"A whole number from 0 to {IDashboardMail.MaxScan}."));
        }

        if (parameters.TryGetValue("messageId", out var mv))
        {
            var messageId = mv.ToString();
            if (messageId.Length > 998 || messageId.Any(char.IsControl))
            {
                errors.Add(new FieldError("messageId", ApiErrorCodes.InvalidValue, "A Message-ID of at most 998 characters."));
            }
            else if (errors.Count == 0)
            {
                return mail.FindByMessageId(messageId) is { } found
                    ? Results.Redirect("/ui/mail/" + Show.Path(found.Metadata.Id))
                    : SeeOther("/ui/mail?failed=message_not_found");
            }
        }

        if (errors.Count > 0)
        {
            return Page<MailListPage>(new MailListModel(PageOf(context, user), q, new MailFilePage([], 0, false, 0, false), null, null,
                string.Join(" ", errors.Select(e => $"{e.Field}: {e.Message}"))), 400);
        }

        const int limit = 50;
        var result = mail.List(q, offset, limit);
        string? Url(int at) => "/ui/mail" + QueryString.Create(new[] { KeyValuePair.Create("q", q), KeyValuePair.Create("offset", (string?)at.ToString(CultureInfo.InvariantCulture)) }.Where(p => !string.IsNullOrEmpty(p.Value)));
        return Page<MailListPage>(new MailListModel(PageOf(context, user), q, result,
            offset > 0 ? Url(Math.Max(0, offset - limit)) : null, result.More ? Url(offset + limit) : null, null));
    }

    public async Task<IResult> MailAsync(HttpContext context, string id)
    {
        var (user, refusal) = await EnterAsync(context, admin: true);
        if (user is null)
        {
            return refusal!;
        }

        if (mail.Find(id) is not { } file)
        {
            return NotFound(context, user, "No stored mail with this id.");
        }

        var (message, size, problem) = await LoadFileAsync(file, context.RequestAborted);
        using (message)
        {
            return Page<MailPage>(new MailModel(PageOf(context, user), file, message is null ? null : MimeView.Summarize(message, size), problem));
        }
    }

    public Task<IResult> MailBodyAsync(HttpContext context, string id) => WithMailAsync(context, id, message => HtmlBody(context, message));

    public async Task<IResult> MailRawAsync(HttpContext context, string id)
    {
        var (user, refusal) = await EnterAsync(context, admin: true);
        if (user is null)
        {
            return refusal!;
        }

        if (mail.Find(id) is not { } file)
        {
            return NotFound(context, user, "No stored mail with this id.");
        }

        RawHeaders(context);
        return Results.File(file.EmlPath, "text/plain; charset=utf-8");
    }

    public Task<IResult> MailAttachmentAsync(HttpContext context, string id, string index) =>
        WithMailAsync(context, id, message => Attachment(context, message, index));

    // ---- stylesheet, unknown paths ----

    public static IResult Stylesheet(HttpContext context)
    {
        context.Response.Headers.CacheControl = "private, max-age=3600";
        return Results.Text(DashboardStyles.Css, "text/css; charset=utf-8");
    }

    public async Task<IResult> UnknownAsync(HttpContext context)
    {
        var user = await access.UserAsync(context);
        return NotFound(context, user, "There is no dashboard page at this address.");
    }

    /// <summary>The 500 page: the exception is logged, the answer says nothing about it.</summary>
    public IResult Failure(HttpContext context, Exception exception)
    {
        LogPageFailed(exception, context.Request.Path.Value ?? "");
        return Error(context, null, 500, "Something went wrong", "The page could not be shown: a store may be unavailable. The error is in the gateway's log.");
    }

    // ---- helpers ----

    /// <summary>The user of a request, or the answer that refuses it: rate limit, sign-in, antiforgery (forms), scope.</summary>
    private async Task<(DashboardUser? User, IResult? Refusal)> EnterAsync(HttpContext context, bool admin = false, bool form = false)
    {
        var user = await access.UserAsync(context);
        if (limiter.Request(context, user) is { } retry)
        {
            return (null, TooMany(context, user, retry));
        }

        if (user is null)
        {
            var back = context.Request.Path.Value ?? "/ui/messages";
            return (null, form ? SeeOther("/ui/sign-in") : Results.Redirect("/ui/sign-in" + QueryString.Create("return", back + context.Request.QueryString)));
        }

        if (form && await ReadFormAsync(context) is { } refusal)
        {
            return (null, refusal);
        }

        if (admin && !user.IsAdmin)
        {
            return (null, Error(context, user, 403, "Not allowed", "This page needs an API key with the admin scope."));
        }

        return (user, null);
    }

    /// <summary>Null when the request is a small urlencoded form with a valid antiforgery token; else the refusal.</summary>
    private async Task<IResult?> ReadFormAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = MaxFormBytes;
        }

        if (context.Request.ContentLength > MaxFormBytes)
        {
            return Error(context, null, 413, "Form too large", $"A dashboard form is at most {MaxFormBytes / 1024} KB.");
        }

        if (!context.Request.HasFormContentType || !string.Equals(context.Request.ContentType?.Split(';')[0].Trim(), "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return Error(context, null, 415, "Not a form", "The dashboard's actions take an HTML form (application/x-www-form-urlencoded).");
        }

        try
        {
            await context.Request.ReadFormAsync(new FormOptions { ValueCountLimit = 16, KeyLengthLimit = 64, ValueLengthLimit = MaxFormBytes }, context.RequestAborted);
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Error(context, null, 400, "Form expired", "The form's security token is missing or stale. Go back, reload the page and try again.");
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or AntiforgeryValidationException)
        {
            return Error(context, null, 400, "Bad form", "The form could not be read.");
        }

        return null;
    }

    private async Task<MessageRecord?> VisibleMessageAsync(DashboardUser user, string id, CancellationToken cancellationToken)
    {
        if (id is not { Length: > 0 and <= 64 } || id.Any(char.IsControl))
        {
            return null;
        }

        var record = await status.GetAsync(id, cancellationToken);
        return record is not null && user.MaySee(record.Owner) ? record : null;
    }

    private async Task<(MimeMessage? Message, long Size, string? Problem)> LoadOutboundAsync(MessageRecord record, CancellationToken cancellationToken)
    {
        if (record.ContentReference is not { } reference)
        {
            return (null, 0, "This message's record has no stored content.");
        }

        try
        {
            await using var stream = await contents.OpenReadAsync(reference, cancellationToken);
            using var copy = new MemoryStream();
            await CopyBoundedAsync(stream, copy, cancellationToken);
            if (copy.Length > MimeView.MaxParsedBytes)
            {
                return (null, copy.Length, "The message is too large to show here.");
            }

            copy.Position = 0;
            return (await MimeView.LoadAsync(copy, cancellationToken), copy.Length, null);
        }
        catch (MessageContentNotFoundException)
        {
            return (null, 0, record.State == MessageState.Delivered
                ? "The stored content was deleted after delivery (MailGateway:Delivery:DeleteContentAfterDelivery)."
                : "The stored content is gone (purged, or removed by retention).");
        }
        catch (FormatException)
        {
            return (null, 0, "The stored content is not a readable MIME message.");
        }
    }

    private static async Task<(MimeMessage? Message, long Size, string? Problem)> LoadFileAsync(MailFile file, CancellationToken cancellationToken)
    {
        try
        {
            var info = new FileInfo(file.EmlPath);
            if (info.Length > MimeView.MaxParsedBytes)
            {
                return (null, info.Length, "The message is too large to show here; the raw source is below.");
            }

            await using var stream = File.OpenRead(file.EmlPath);
            return (await MimeView.LoadAsync(stream, cancellationToken), info.Length, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, 0, "The stored file cannot be read.");
        }
        catch (FormatException)
        {
            return (null, 0, "The stored file is not a readable MIME message.");
        }
    }

    private static async Task CopyBoundedAsync(Stream source, Stream destination, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            if (destination.Length > MimeView.MaxParsedBytes)
            {
                return;
            }
        }
    }

    private async Task<IResult> WithOutboundAsync(HttpContext context, string id, Func<MimeMessage, Task<IResult>> answer)
    {
        var (user, refusal) = await EnterAsync(context);
        if (user is null)
        {
            return refusal!;
        }

        if (await VisibleMessageAsync(user, id, context.RequestAborted) is not { } record)
        {
            return NotFound(context, user, "No message with this id that this key may see.");
        }

        var (message, _, problem) = await LoadOutboundAsync(record, context.RequestAborted);
        if (message is null)
        {
            return NotFound(context, user, problem ?? "The content is gone.");
        }

        using (message)
        {
            return await answer(message);
        }
    }

    private async Task<IResult> WithMailAsync(HttpContext context, string id, Func<MimeMessage, Task<IResult>> answer)
    {
        var (user, refusal) = await EnterAsync(context, admin: true);
        if (user is null)
        {
            return refusal!;
        }

        if (mail.Find(id) is not { } file)
        {
            return NotFound(context, user, "No stored mail with this id.");
        }

        var (message, _, problem) = await LoadFileAsync(file, context.RequestAborted);
        if (message is null)
        {
            return NotFound(context, user, problem ?? "The content is gone.");
        }

        using (message)
        {
            return await answer(message);
        }
    }

    /// <summary>The HTML part for the sandboxed iframe: its own CSP (no script, nothing remote), never cached.</summary>
    private static Task<IResult> HtmlBody(HttpContext context, MimeMessage message)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = MimeView.BodyPolicy;
        // Shown in the message page's iframe: framed by this host's pages, by no other site (frame-ancestors 'self').
        headers.XFrameOptions = "SAMEORIGIN";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        return Task.FromResult(Results.Text(message.HtmlBody ?? "", "text/html; charset=utf-8"));
    }

    private static async Task<IResult> Raw(HttpContext context, MimeMessage message)
    {
        RawHeaders(context);
        var buffer = new MemoryStream();
        await message.WriteToAsync(buffer, context.RequestAborted);
        return Results.Bytes(buffer.ToArray(), "text/plain; charset=utf-8");
    }

    private static void RawHeaders(HttpContext context)
    {
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
        context.Response.Headers.CacheControl = "no-store";
    }

    private static async Task<IResult> Attachment(HttpContext context, MimeMessage message, string index)
    {
        if (!int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 10_000)
        {
            return Results.NotFound();
        }

        var entity = MimeView.Attachments(message).Skip(n).FirstOrDefault();
        if (entity is null)
        {
            return Results.NotFound();
        }

        var buffer = new MemoryStream();
        await MimeView.WriteAttachmentAsync(message, n, buffer, context.RequestAborted);
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
        context.Response.Headers.CacheControl = "no-store";
        // Never the message's own content type: a download, whatever the attachment claims to be.
        return Results.File(buffer.ToArray(), "application/octet-stream", MimeView.FileNameOf(entity, n));
    }

    private PageContext PageOf(HttpContext context, DashboardUser? user)
    {
        var token = antiforgery.GetAndStoreTokens(context).RequestToken ?? "";
        var query = context.Request.Query;
        var failed = Notice(query, "failed", Failed);
        var notice = failed ?? Notice(query, "done", Done);
        return new PageContext(user, token, notice, failed is not null, mail.Available, mail.Title);
    }

    private static string? Notice(IQueryCollection query, string name, Dictionary<string, string> texts) =>
        query.TryGetValue(name, out var v) && v.Count == 1 && texts.TryGetValue(v[0] ?? "", out var text) ? text : null;

    // The list's parameters without the page's own (notices) and without empty form fields.
    private static Dictionary<string, StringValues> FilterParameters(IQueryCollection query)
    {
        var result = new Dictionary<string, StringValues>(StringComparer.Ordinal);
        foreach (var (name, values) in query)
        {
            if (name is "done" or "failed" || (values.Count == 1 && string.IsNullOrEmpty(values[0])))
            {
                continue;
            }

            result[name] = values;
        }

        return result;
    }

    private static string? Single(IFormCollection form, string name) => form.TryGetValue(name, out var v) && v.Count == 1 ? v[0] : null;

    private static string? Single(IQueryCollection query, string name) => query.TryGetValue(name, out var v) && v.Count == 1 ? v[0] : null;

    /// <summary>Only a dashboard path of this host (never another site: no open redirect).</summary>
    internal static string ReturnUrl(string? url) =>
        url is { Length: > 4 and <= 2048 } && url.StartsWith("/ui/", StringComparison.Ordinal) && !url.Contains("//", StringComparison.Ordinal)
        && !url.Contains('\\', StringComparison.Ordinal) && !url.Any(char.IsControl)
            ? url
            : "/ui/messages";

    private static IResult SeeOther(string url) => new SeeOtherResult(url);

    private IResult NotFound(HttpContext context, DashboardUser? user, string detail) => Error(context, user, 404, "Not found", detail);

    private IResult TooMany(HttpContext context, DashboardUser? user, string retryAfter)
    {
        context.Response.Headers.RetryAfter = retryAfter;
        return Error(context, user, 429, "Too many requests", $"Slow down: try again in {retryAfter} s.");
    }

    private IResult Error(HttpContext context, DashboardUser? user, int statusCode, string title, string detail) =>
        Page<ErrorPage>(new ErrorModel(PageOf(context, user), statusCode, title, detail), statusCode);

    private static RazorComponentResult<T> Page<T>(object model, int statusCode = 200)
        where T : Microsoft.AspNetCore.Components.IComponent =>
        Page<T>(new Dictionary<string, object?> { ["Model"] = model }, statusCode);

    private static RazorComponentResult<T> Page<T>(Dictionary<string, object?> parameters, int statusCode = 200)
        where T : Microsoft.AspNetCore.Components.IComponent =>
        new(parameters) { StatusCode = statusCode, ContentType = "text/html; charset=utf-8" };

    /// <summary>303 See Other: the browser follows a form's answer with a GET.</summary>
    private sealed class SeeOtherResult(string url) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status303SeeOther;
            httpContext.Response.Headers.Location = url;
            return Task.CompletedTask;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dashboard: signed in with API key {KeyId}")]
    private partial void LogSignedIn(string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboard: sign-in refused from {ClientAddress}")]
    private partial void LogSignInRefused(string clientAddress);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dashboard: {Action} of message {MessageId} by {User}: {Outcome}")]
    private partial void LogAction(string action, string messageId, string user, string outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "Dashboard: the page {Path} failed")]
    private partial void LogPageFailed(Exception exception, string path);
}
