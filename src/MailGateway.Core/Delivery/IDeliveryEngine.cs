using MailGateway.Core.Messages;

namespace MailGateway.Core.Delivery;

/// <summary>A message ready for the wire: the stored wire bytes and the envelope to send them with.</summary>
/// <param name="MessageId">The gateway id, for logs and traces; the content already carries the stable Message-ID header.</param>
/// <param name="Content">
/// The message exactly as composed and stored (the claim check): sent as it is, never parsed. The engine still
/// refuses to put an invalid line on the wire (a bare CR or LF becomes CRLF, a line over 998 octets fails).
/// </param>
/// <param name="Envelope">MAIL FROM and the RCPT list (only the recipients still pending on a retry).</param>
public sealed record DeliveryRequest(string MessageId, ReadOnlyMemory<byte> Content, Envelope Envelope)
{
    /// <summary>The size compared with the relay's SIZE; null: the length of <see cref="Content"/>.</summary>
    public long? Size { get; init; }
}

/// <summary>Delivers one message to the configured relay and reports the outcome as a value.</summary>
public interface IDeliveryEngine
{
    /// <summary>Attempts delivery once (with connection-level retries and port fallback inside the attempt).</summary>
    Task<DeliveryOutcome> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken);
}
