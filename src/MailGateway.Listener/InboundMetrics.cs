using System.Diagnostics.Metrics;

namespace MailGateway.Listener;

/// <summary>The listener's OpenTelemetry metrics (meter <c>MailGateway.Listener</c>).</summary>
internal sealed class InboundMetrics
{
    public const string MeterName = "MailGateway.Listener";

    private readonly Counter<long> _messages;
    private readonly Histogram<long> _messageSize;
    private readonly Counter<long> _refusedConnections;
    private readonly Counter<long> _timeouts;

    // Created through the host's factory, which owns (and disposes) the meter.
    public InboundMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(MeterName);
        _messages = Meter.CreateCounter<long>("mailgateway.inbound.messages", "{message}", "Messages at the end of DATA, by outcome.");
        _messageSize = Meter.CreateHistogram<long>("mailgateway.inbound.message.size", "By", "Size of stored messages.");
        _refusedConnections = Meter.CreateCounter<long>("mailgateway.inbound.connections.refused", "{connection}", "Connections refused with 421, by limit.");
        _timeouts = Meter.CreateCounter<long>("mailgateway.inbound.sessions.timed_out", "{session}", "Sessions closed with 421 4.4.2.");
    }

    public Meter Meter { get; }

    public void Message(string outcome, long size = 0)
    {
        _messages.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        if (outcome == "stored")
        {
            _messageSize.Record(size);
        }
    }

    public void ConnectionRefused(string limit) => _refusedConnections.Add(1, new KeyValuePair<string, object?>("limit", limit));

    public void TimedOut() => _timeouts.Add(1);
}
