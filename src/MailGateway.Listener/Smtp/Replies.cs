using SmtpServer.Protocol;

namespace MailGateway.Listener.Smtp;

/// <summary>Every reply the listener itself writes (the library adds its own for syntax and sequence errors).</summary>
internal static class Replies
{
    public static readonly SmtpResponse RelayDenied = new(SmtpReplyCode.MailboxUnavailable, "5.7.1 Relaying denied: not a local domain");
    public static readonly SmtpResponse TooManyRecipients = new(SmtpReplyCode.InsufficientStorage, "4.5.3 Too many recipients");
    public static readonly SmtpResponse BadAddressSyntax = new(SmtpReplyCode.SyntaxError, "5.1.3 Bad address syntax");
    public static readonly SmtpResponse InvalidUtf8Address = new(SmtpReplyCode.SyntaxError, "5.1.3 Bad address syntax: not valid UTF-8");
    public static readonly SmtpResponse NonAsciiWithoutSmtpUtf8 = new(SmtpReplyCode.MailboxNameNotAllowed, "5.6.7 Non-ASCII address without the SMTPUTF8 parameter");
    public static readonly SmtpResponse EnvelopeSyntax = new(SmtpReplyCode.SyntaxError, "5.5.4 Syntax: MAIL FROM:<address> [parameters] or RCPT TO:<address> [parameters]");
    public static readonly SmtpResponse MailboxNameNotAllowed = new(SmtpReplyCode.MailboxNameNotAllowed, "5.1.3 Mailbox name not allowed");
    public static readonly SmtpResponse LineTooLong = new(SmtpReplyCode.CommandUnrecognized, "5.5.6 Line too long");
    public static readonly SmtpResponse CommandUnrecognized = new(SmtpReplyCode.CommandUnrecognized, "5.5.1 Command unrecognized");
    public static readonly SmtpResponse MessageTooBig = new(SmtpReplyCode.SizeLimitExceeded, "5.3.4 Message size exceeds fixed maximum message size");
    public static readonly SmtpResponse BareLineEnding = new(SmtpReplyCode.MailboxUnavailable, "5.6.0 Message contains bare CR or LF characters; lines must end with CRLF");
    public static readonly SmtpResponse TooManyAuthenticationFailures = new(SmtpReplyCode.ClientNotPermitted, "4.7.0 Too many failed authentications from your address, try again later");
    public static readonly SmtpResponse StorageFailed = new(SmtpReplyCode.Aborted, "4.3.0 Temporary storage failure, try again later");

    // Submission (RFC 6409, RFC 4954).
    public static readonly SmtpResponse EncryptionRequired = new((SmtpReplyCode)538, "5.7.11 Encryption required for requested authentication mechanism: use STARTTLS first");
    public static readonly SmtpResponse AuthenticationRequired = new(SmtpReplyCode.AuthenticationRequired, "5.7.0 Authentication required");
    public static readonly SmtpResponse MissingSendScope = new(SmtpReplyCode.MailboxUnavailable, "5.7.1 This API key does not have the send scope");
    public static readonly SmtpResponse MailFromNotAllowed = new(SmtpReplyCode.MailboxUnavailable, "5.7.1 Sender address rejected: MAIL FROM is not in a domain this API key may send from (AllowedSenderDomains)");
    public static readonly SmtpResponse HeaderFromNotAllowed = new(SmtpReplyCode.MailboxUnavailable, "5.7.1 Message refused: the header From is not in a domain this API key may send from (AllowedSenderDomains)");
    public static readonly SmtpResponse TooManyInvalidKeys = new(SmtpReplyCode.ClientNotPermitted, "4.7.0 Too many attempts without a valid API key from your address (MailGateway:RateLimits:FailedAuthPerAddress), try again later");

    public static SmtpResponse KeyRateLimited(string seconds) => new(SmtpReplyCode.Aborted, $"4.7.0 Rate limit of this API key exceeded (MailGateway:RateLimits), try again in {seconds} s");

    /// <summary>550 5.6.0 with the accept entry's reason: one line of printable ASCII, bounded.</summary>
    public static SmtpResponse InvalidMessage(string reason)
    {
        var text = new string([.. reason.Take(300).Select(c => c is >= ' ' and < (char)127 ? c : '?')]);
        return new(SmtpReplyCode.MailboxUnavailable, "5.6.0 Message refused: " + text);
    }

    public static SmtpResponse Queued(string id) => new(SmtpReplyCode.Ok, "2.0.0 Ok: queued as " + id);

    public static string Greeting(string serverName) => $"220 {serverName} ESMTP ready";

    public static string TooManyConnections(string serverName) => $"421 4.7.0 {serverName} Too many connections, try again later";

    public static string TooManyConnectionsFromClient(string serverName) => $"421 4.7.0 {serverName} Too many connections from your address, try again later";

    public static string TooManyConnectionsFromNetwork(string serverName) => $"421 4.7.0 {serverName} Too many connections from your network, try again later";

    public static string Timeout(string serverName) => $"421 4.4.2 {serverName} Timeout exceeded, closing connection";
}
