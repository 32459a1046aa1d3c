using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MailGateway.ServiceDefaults.Telemetry;

/// <summary>
/// The gateway's OpenTelemetry: traces and metrics of every <c>MailGateway.*</c> source and meter, ASP.NET Core,
/// HttpClient and the .NET runtime; logs through the OpenTelemetry logger. Exporters: OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (protocol, headers and the rest from the standard <c>OTEL_*</c> variables),
/// Prometheus with <see cref="TelemetryOptions.PrometheusEndpoint"/>, Azure Monitor from the Azure adapters.
/// </summary>
public static class GatewayTelemetry
{
    /// <summary>The wildcard that covers the gateway's own sources and meters.</summary>
    public const string SourcePattern = "MailGateway.*";

    /// <summary>
    /// Whether this configuration collects telemetry (see <see cref="TelemetryOptions.Enabled"/>).
    /// <paramref name="otherExporter"/>: an exporter the host adds itself (Azure Monitor).
    /// </summary>
    public static bool IsEnabled(IConfiguration configuration, bool otherExporter = false)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = Read(configuration);
        return options.Enabled ?? (otherExporter || options.PrometheusEndpoint || HasOtlpEndpoint(configuration));
    }

    /// <summary>
    /// Registers the providers (once; later calls return the same registration to add to). Called by
    /// <see cref="ServiceDefaultsExtensions.AddServiceDefaults"/> when telemetry is enabled, and by a host that adds an
    /// exporter of its own.
    /// </summary>
    public static IOpenTelemetryBuilder AddGatewayOpenTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var otel = builder.Services.AddOpenTelemetry();
        if (IsRegistered(builder.Services))
        {
            return otel;
        }

        builder.Services.AddSingleton<GatewayTelemetryRegistered>();
        var options = Read(builder.Configuration);
        otel.ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName))
            .WithTracing(tracing => tracing
                .AddSource(SourcePattern)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsProbe(context.Request.Path))
                .AddHttpClientInstrumentation())
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(SourcePattern)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation();
                if (options.PrometheusEndpoint)
                {
                    metrics.AddPrometheusExporter();
                }
            })
            .WithLogging(logging => { }, logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
        if (HasOtlpEndpoint(builder.Configuration))
        {
            otel.UseOtlpExporter();
        }

        return otel;
    }

    // Read leniently at registration: a value that does not parse is reported by the bound options at start.
    /// <summary>True once <see cref="AddGatewayOpenTelemetry"/> registered the providers.</summary>
    internal static bool IsRegistered(IServiceCollection services) => services.Any(d => d.ServiceType == typeof(GatewayTelemetryRegistered));

    internal static TelemetryOptions Read(IConfiguration configuration) => new()
    {
        Enabled = bool.TryParse(configuration[$"{TelemetryOptions.SectionName}:{nameof(TelemetryOptions.Enabled)}"], out var enabled) ? enabled : null,
        PrometheusEndpoint = bool.TryParse(configuration[$"{TelemetryOptions.SectionName}:{nameof(TelemetryOptions.PrometheusEndpoint)}"], out var prometheus) && prometheus,
    };

    private static bool HasOtlpEndpoint(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[TelemetryOptions.OtlpEndpointSetting]);

    // Platform probes every few seconds would fill the traces with nothing.
    private static bool IsProbe(Microsoft.AspNetCore.Http.PathString path) =>
        path == Health.HealthEndpoints.LivenessPath || path == Health.HealthEndpoints.ReadinessPath || path == "/metrics";

    private sealed class GatewayTelemetryRegistered;
}
