using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Never an open relay: RCPT only for the configured domains, at most MaxRecipients per message, and no address
/// with control characters or path-like parts (checked after the library unescaped quoted local-parts).
/// Refusals are thrown as <see cref="SmtpResponseException"/> so the client gets our exact code.
/// </summary>
internal sealed class InboundMailboxFilter(ListenerContext shared) : IMailboxFilter
{
    public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context) ?? throw new InvalidOperationException("No inbound session.");

        // MAIL starts a new transaction (the library reset its recipient list just before calling us).
        session.RecipientCount = 0;
        if (from.User.Length == 0 && from.Host.Length == 0)
        {
            return Task.FromResult(true);
        }

        CheckAddress(from);
        Log.MailFrom(shared.Logger, session.ClientAddress, from.AsAddress());
        return Task.FromResult(true);
    }

    public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context) ?? throw new InvalidOperationException("No inbound session.");
        CheckAddress(to);
        if (!shared.Domains.Contains(to.Host.TrimEnd('.')))
        {
            Log.RelayDenied(shared.Logger, session.ClientAddress, to.AsAddress());
            throw new SmtpResponseException(Replies.RelayDenied);
        }

        if (session.RecipientCount >= shared.Options.MaxRecipients)
        {
            throw new SmtpResponseException(Replies.TooManyRecipients);
        }

        session.RecipientCount++;
        return Task.FromResult(true);
    }

    internal static void CheckAddress(IMailbox mailbox)
    {
        var user = mailbox.User ?? "";
        var host = mailbox.Host ?? "";
        if (user.Length == 0 || host.Length == 0 || user.Any(char.IsControl) || host.Any(char.IsControl))
        {
            throw new SmtpResponseException(Replies.BadAddressSyntax);
        }

        if (IsPathLike(user) || IsPathLike(host))
        {
            throw new SmtpResponseException(Replies.MailboxNameNotAllowed);
        }
    }

    private static bool IsPathLike(string part) =>
        part.Contains("..", StringComparison.Ordinal) || part.Contains('/', StringComparison.Ordinal) || part.Contains('\\', StringComparison.Ordinal);
}
