using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MailGateway.Core.Delivery;

/// <summary>Traces of outbound delivery (source <c>MailGateway.Delivery</c>); the metrics are <see cref="DeliveryMetrics"/>.</summary>
public static class DeliveryTelemetry
{
    /// <summary>The name of the <see cref="ActivitySource"/> and the <see cref="Meter"/>.</summary>
    public const string Name = "MailGateway.Delivery";

    /// <summary>Traces: one activity per handled job (<c>deliver message</c>) and one per SMTP attempt (<c>smtp deliver</c>).</summary>
    public static readonly ActivitySource Source = new(Name);
}

/// <summary>Metrics of outbound delivery (meter <c>MailGateway.Delivery</c>), created through the host's <see cref="IMeterFactory"/>.</summary>
public sealed class DeliveryMetrics
{
    /// <summary>Creates the instruments.</summary>
    public DeliveryMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(DeliveryTelemetry.Name);
        Deliveries = meter.CreateCounter<long>("mailgateway.delivery.attempts", "{attempt}", "Delivery attempts by outcome and relay port.");
        Duration = meter.CreateHistogram<double>("mailgateway.delivery.duration", "s", "Duration of a delivery attempt.");
        Connections = meter.CreateCounter<long>("mailgateway.delivery.connections", "{connection}", "Relay connections opened, by port and result.");
    }

    /// <summary>Deliveries by outcome and port.</summary>
    public Counter<long> Deliveries { get; }

    /// <summary>Attempt duration.</summary>
    public Histogram<double> Duration { get; }

    /// <summary>New relay connections by port and result.</summary>
    public Counter<long> Connections { get; }
}
