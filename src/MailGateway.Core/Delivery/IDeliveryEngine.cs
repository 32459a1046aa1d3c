using MailGateway.Core.Messages;
using MimeKit;

namespace MailGateway.Core.Delivery;

/// <summary>A message ready for the wire: the composed MIME and the envelope to send it with.</summary>
/// <param name="MessageId">The gateway id, for logs and traces; the MIME already carries the stable Message-ID header.</param>
/// <param name="Message">The composed message.</param>
/// <param name="Envelope">MAIL FROM and the RCPT list (only the recipients still pending on a retry).</param>
public sealed record DeliveryRequest(string MessageId, MimeMessage Message, Envelope Envelope)
{
    /// <summary>
    /// The size in bytes of the message as it will be written, when the caller knows it (the stored claim-check
    /// copy); compared with the relay's SIZE. Null: the engine measures it by serialising the message.
    /// </summary>
    public long? Size { get; init; }
}

/// <summary>Delivers one message to the configured relay and reports the outcome as a value.</summary>
public interface IDeliveryEngine
{
    /// <summary>Attempts delivery once (with connection-level retries and port fallback inside the attempt).</summary>
    Task<DeliveryOutcome> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken);
}
