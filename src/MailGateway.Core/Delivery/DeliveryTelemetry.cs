using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MailGateway.Core.Delivery;

/// <summary>Traces and metrics of outbound delivery (source and meter <c>MailGateway.Delivery</c>).</summary>
public static class DeliveryTelemetry
{
    /// <summary>The name of the <see cref="ActivitySource"/> and <see cref="Meter"/>.</summary>
    public const string Name = "MailGateway.Delivery";

    /// <summary>Traces: one activity per delivery attempt.</summary>
    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>Deliveries by outcome and port.</summary>
    public static readonly Counter<long> Deliveries = Meter.CreateCounter<long>("mailgateway.delivery.attempts", "{attempt}", "Delivery attempts by outcome and relay port.");

    /// <summary>Attempt duration.</summary>
    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("mailgateway.delivery.duration", "s", "Duration of a delivery attempt.");

    /// <summary>New relay connections by port and result.</summary>
    public static readonly Counter<long> Connections = Meter.CreateCounter<long>("mailgateway.delivery.connections", "{connection}", "Relay connections opened, by port and result.");
}
