using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Never an open relay: RCPT only for the configured domains (any domain only in loopback-only capture mode,
/// AcceptAllRecipients). Binds each MAIL/RCPT mailbox to the path our reader read (address syntax, UTF-8 and
/// path-like parts were checked there, the recipient limit too). Refusals are thrown as
/// <see cref="SmtpResponseException"/> so the client gets our exact code.
/// </summary>
internal sealed class InboundMailboxFilter(ListenerContext shared) : IMailboxFilter
{
    public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context) ?? throw new InvalidOperationException("No inbound session.");

        // MAIL starts a new transaction (the library reset its recipient list just before calling us).
        session.EndTransaction();
        var path = Bind(session, from);
        session.Utf8Transaction = path.SmtpUtf8;
        if (!path.IsNull)
        {
            Log.MailFrom(shared.Logger, session.ClientAddress, from.AsAddress());
        }

        return Task.FromResult(true);
    }

    public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context) ?? throw new InvalidOperationException("No inbound session.");
        var path = Bind(session, to);
        if (!shared.Options.AcceptAllRecipients && !shared.Domains.Contains(path.Domain.TrimEnd('.')))
        {
            Log.RelayDenied(shared.Logger, session.ClientAddress, to.AsAddress());
            throw new SmtpResponseException(Replies.RelayDenied);
        }

        session.RecipientCount++;
        return Task.FromResult(true);
    }

    internal static EnvelopePath Bind(InboundSession session, IMailbox mailbox)
    {
        // Our factory made the mailbox and our reader read its path from the line being executed.
        if (mailbox is not EnvelopeAddress address || session.PendingPath is not { } path)
        {
            throw new InvalidOperationException("A MAIL/RCPT mailbox that the listener's reader did not read.");
        }

        session.PendingPath = null;
        address.Bind(path);
        return path;
    }
}
