using SmtpServer.Mail;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// The mailbox our command factory gives SmtpServer's MAIL and RCPT commands instead of the one the library parsed
/// from the placeholder path (<see cref="EnvelopeCommand"/>). The mailbox filter binds it to the path our reader
/// read from the client's line before the library stores it in the transaction, so the transaction and the stored
/// metadata hold the address exactly as it was sent (<see cref="IMailbox.User"/> is the local part on the wire,
/// quotes and backslashes included).
/// </summary>
internal sealed class EnvelopeAddress : IMailbox
{
    private EnvelopePath? _path;

    public EnvelopePath Path => _path ?? throw new InvalidOperationException("The envelope address was not bound to the client's path.");

    public string User => Path.LocalPart;

    public string Host => Path.Domain;

    /// <summary>Binds this mailbox to the path read from the command line that created it.</summary>
    public void Bind(EnvelopePath path) => _path = path;
}
