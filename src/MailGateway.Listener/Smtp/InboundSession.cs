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

    public bool Esmtp { get; set; }

    /// <summary>Recipients accepted since the last MAIL (MAIL resets the library's transaction, and this).</summary>
    public int RecipientCount { get; set; }

    /// <summary>The message received by the last DATA, waiting for the store adapter to commit or refuse it.</summary>
    public ReceivedMessage? Pending { get; set; }

    public static InboundSession? From(SmtpServer.ISessionContext context) =>
        context.Properties.TryGetValue(PropertyKey, out var value) ? value as InboundSession : null;
}
