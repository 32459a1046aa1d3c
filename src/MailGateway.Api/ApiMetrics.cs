using System.Diagnostics.Metrics;

namespace MailGateway.Api;

/// <summary>Metrics of the send API (meter <c>MailGateway.Api</c>), the same in every host.</summary>
public sealed class ApiMetrics
{
    /// <summary>The meter name, for OpenTelemetry registration.</summary>
    public const string MeterName = "MailGateway.Api";

    private readonly Counter<long> _accepted;
    private readonly Counter<long> _refused;

    /// <summary>Creates the instruments.</summary>
    public ApiMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _accepted = meter.CreateCounter<long>("mailgateway.api.messages.accepted", "{message}",
            "Messages answered 202, by outcome: accepted (new) or replayed (same Idempotency-Key and body).");
        _refused = meter.CreateCounter<long>("mailgateway.api.messages.refused", "{request}",
            "Send requests refused, by HTTP status code.");
    }

    internal void Accepted(bool replayed) => _accepted.Add(1, new KeyValuePair<string, object?>("outcome", replayed ? "replayed" : "accepted"));

    internal void Refused(int statusCode) => _refused.Add(1, new KeyValuePair<string, object?>("http.response.status_code", statusCode));
}
