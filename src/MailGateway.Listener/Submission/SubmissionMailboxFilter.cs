using System.Globalization;
using System.Threading.RateLimiting;
using MailGateway.Core.Keys;
using MailGateway.Listener.Smtp;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace MailGateway.Listener.Submission;

/// <summary>
/// MAIL and RCPT for submission: the authenticated key must have the <c>send</c> scope and may use only its allowed
/// sender domains for MAIL FROM (550 5.7.1 naming the rule; the header From is checked at the end of DATA by the accept
/// entry); each MAIL takes a token of the key's rate-limit bucket (451 4.7.0 when empty). Any recipient domain: an
/// authenticated key is allowed to relay, like the HTTP API.
/// </summary>
internal sealed class SubmissionMailboxFilter(ListenerContext shared, SubmissionServices services) : IMailboxFilter
{
    public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context) ?? throw new InvalidOperationException("No inbound session.");
        session.EndTransaction();
        var path = InboundMailboxFilter.Bind(session, from);
        session.Utf8Transaction = path.SmtpUtf8;
        var key = session.ApiKey ?? throw new SmtpResponseException(Replies.AuthenticationRequired);
        if (!key.Has(ApiKeyScopes.Send))
        {
            throw new SmtpResponseException(Replies.MissingSendScope);
        }

        if (path.IsNull || !key.MaySendFrom(from.AsAddress()))
        {
            Log.SenderRefused(shared.Logger, session.ClientAddress, key.Id);
            throw new SmtpResponseException(Replies.MailFromNotAllowed);
        }

        using var lease = services.Limits.Limiter.AttemptAcquire(RateLimitSubject.ForKey(key.Id));
        if (!lease.IsAcquired)
        {
            var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : services.Limits.Options.PerKeyPeriod;
            var seconds = Math.Max(1, (long)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            throw new SmtpResponseException(Replies.KeyRateLimited(seconds));
        }

        return Task.FromResult(true);
    }

    public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context) ?? throw new InvalidOperationException("No inbound session.");
        InboundMailboxFilter.Bind(session, to);
        session.RecipientCount++;
        return Task.FromResult(true);
    }
}
