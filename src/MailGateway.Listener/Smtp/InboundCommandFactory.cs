using System.Net;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Plain greetings, AUTH advertised only when users exist, no PROXY command (it would let any client claim any IP),
/// and MAIL/RCPT mailboxes bound to the path our reader read (<see cref="EnvelopeCommand"/>), never the library's.
/// </summary>
internal sealed class InboundCommandFactory(bool hasUsers) : SmtpCommandFactory
{
    public override SmtpCommand CreateMail(IMailbox address, IReadOnlyDictionary<string, string> parameters) => new MailCommand(new EnvelopeAddress(), parameters);

    public override SmtpCommand CreateRcpt(IMailbox address) => new RcptCommand(new EnvelopeAddress());

    public override SmtpCommand CreateEhlo(string domainOrAddress) => new Ehlo(domainOrAddress, hasUsers);

    public override SmtpCommand CreateHelo(string domainOrAddress) => new Helo(domainOrAddress);

    public override SmtpCommand CreateProxy(IPEndPoint sourceEndpoint, IPEndPoint destinationEndpoint) =>
        throw new SmtpResponseException(Replies.CommandUnrecognized);

    private sealed class Ehlo(string domainOrAddress, bool hasUsers) : EhloCommand(domainOrAddress)
    {
        protected override string GetGreeting(ISessionContext context) =>
            context.ServerOptions.ServerName + " Hello " + ReceivedHeader.Sanitize(DomainOrAddress);

        protected override IEnumerable<string> GetExtensions(ISessionContext context) =>
            base.GetExtensions(context).Where(e => hasUsers || !e.StartsWith("AUTH", StringComparison.Ordinal));
    }

    private sealed class Helo(string domainOrAddress) : HeloCommand(domainOrAddress)
    {
        protected override string GetGreeting(ISessionContext context) =>
            context.ServerOptions.ServerName + " Hello " + ReceivedHeader.Sanitize(DomainOrAddress);
    }
}
