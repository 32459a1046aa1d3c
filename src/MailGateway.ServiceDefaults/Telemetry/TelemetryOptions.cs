namespace MailGateway.ServiceDefaults.Telemetry;

/// <summary>OpenTelemetry of every host (section <c>MailGateway:Telemetry</c>; the exporters use the standard variables).</summary>
public sealed class TelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Telemetry";

    /// <summary>The standard OTLP endpoint variable: when set, traces, metrics and logs are exported over OTLP.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The Application Insights variable: when set, the Azure hosts export to Azure Monitor.</summary>
    public const string ApplicationInsightsSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>
    /// Collect telemetry: <c>null</c> (default) collects only when an exporter is configured (OTLP, Azure Monitor or
    /// Prometheus), so a host with none pays nothing on the hot path; <c>true</c> collects anyway (an exporter added in
    /// code, e.g. the tests' in-memory one); <c>false</c> never.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>Serve metrics in the Prometheus text format at <c>GET /metrics</c> (web hosts; off by default).</summary>
    public bool PrometheusEndpoint { get; set; }

    /// <summary>How often the queue-depth gauges read the queue (one cheap query). Default 15 s.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.050", "01:00:00", ErrorMessage = "MailGateway:Telemetry:QueueSampleInterval must be between 00:00:00.050 and 01:00:00.")]
    public TimeSpan QueueSampleInterval { get; set; } = TimeSpan.FromSeconds(15);
}
