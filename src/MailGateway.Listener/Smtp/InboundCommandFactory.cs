using System.Net;
using SmtpServer;
using SmtpServer.Protocol;

namespace MailGateway.Listener.Smtp;

/// <summary>Plain greetings, AUTH advertised only when users exist, and no PROXY command (it would let any client claim any IP).</summary>
internal sealed class InboundCommandFactory(bool hasUsers) : SmtpCommandFactory
{
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
