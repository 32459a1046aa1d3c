namespace MailGateway.Core.Webhooks;

/// <summary>
/// Who dispatches webhooks when several processes could: the dispatcher asks before each round and sends only while
/// it holds the lease, so replicas of the Azure delivery worker do not all send every event (a Blob lease there). The
/// standalone host is one process and always holds it (<see cref="SingleProcess"/>). A lease that moves between
/// processes may send an event twice — with the same <c>webhook-id</c>, as any at-least-once retry.
/// </summary>
public interface IWebhookDispatchLease
{
    /// <summary>True while this process holds (or just took) the lease.</summary>
    ValueTask<bool> HoldAsync(CancellationToken cancellationToken);

    /// <summary>The lease of a host that is the only dispatcher: always held.</summary>
    public static IWebhookDispatchLease SingleProcess { get; } = new Always();

    private sealed class Always : IWebhookDispatchLease
    {
        public ValueTask<bool> HoldAsync(CancellationToken cancellationToken) => ValueTask.FromResult(true);
    }
}
