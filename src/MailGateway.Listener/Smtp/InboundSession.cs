using System.Net;

namespace MailGateway.Listener.Smtp;

/// <summary>What the listener knows about one connection, kept in the SmtpServer session's properties.</summary>
internal sealed class InboundSession
{
    public const string PropertyKey = "MailGateway:InboundSession";

    public InboundSession(IPEndPoint remote, Guid sessionId)
    {
        Remote = remote;
        ClientAddress = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        SessionId = sessionId;
    }

    public IPEndPoint Remote { get; }

    public IPAddress ClientAddress { get; }

    public Guid SessionId { get; }

    public string? Helo { get; set; }

    /// <summary>Submission: the API key the client authenticated with.</summary>
    public MailGateway.Core.Keys.VerifiedApiKey? ApiKey { get; set; }

    public bool Esmtp { get; set; }

    /// <summary>Recipients accepted in the current transaction (MAIL starts one; DATA and RSET end it).</summary>
    public int RecipientCount { get; set; }

    /// <summary>The current transaction's MAIL had the SMTPUTF8 parameter: RCPT may use UTF-8 addresses.</summary>
    public bool Utf8Transaction { get; set; }

    /// <summary>The path our reader read from the MAIL/RCPT line the library is executing; the mailbox filter binds it.</summary>
    public EnvelopePath? PendingPath { get; set; }

    /// <summary>The message received by the last DATA, waiting for the store adapter to commit or refuse it.</summary>
    public ReceivedMessage? Pending { get; set; }

    /// <summary>DATA or RSET: the transaction is over.</summary>
    public void EndTransaction()
    {
        RecipientCount = 0;
        Utf8Transaction = false;
    }

    public static InboundSession? From(SmtpServer.ISessionContext context) =>
        context.Properties.TryGetValue(PropertyKey, out var value) ? value as InboundSession : null;
}
