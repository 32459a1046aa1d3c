namespace MailGateway.Core.Delivery;

/// <summary>Every port of the relay failed at connection or TLS level (refused, timeout, handshake, 421 greeting, no STARTTLS).</summary>
internal sealed class RelayUnavailableException(string message) : Exception(message);

/// <summary>A connection-level failure we detect ourselves (e.g. refusing to send credentials in clear).</summary>
internal sealed class RelayConnectException(string message) : Exception(message);

/// <summary>The relay refused the configured credentials: a configuration error, not a reason to try another port.</summary>
internal sealed class RelayCredentialsException(SmtpReply? reply, bool permanent, string message, Exception inner) : Exception(message, inner)
{
    public SmtpReply? Reply { get; } = reply;

    public bool Permanent { get; } = permanent;
}

/// <summary>Raised from MailKit's hook when no RCPT was accepted, so the per-recipient replies are kept.</summary>
internal sealed class NoRecipientsAcceptedException() : Exception("The relay accepted none of the recipients.");
