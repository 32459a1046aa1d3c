using MailGateway.Core.Hosting;
using MailGateway.ServiceDefaults.Health;
using MailGateway.ServiceDefaults.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.ServiceDefaults;

/// <summary>
/// The defaults every host registers with one call (the role eShop's ServiceDefaults plays): health checks and the
/// one <c>/healthz</c> + <c>/readyz</c> contract, OpenTelemetry, and start-up validation. The host adds its readiness
/// checks (<see cref="ReadinessCheckExtensions"/>) and, on Azure, the Azure Monitor exporter.
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// Health checks (with <see cref="HealthOptions.ProbeTimeout"/> on every readiness check), OpenTelemetry when an
    /// exporter is configured (<see cref="GatewayTelemetry"/>; <paramref name="otherExporter"/>: the host adds one itself),
    /// and the options both bind, validated at start. Returns the health-checks builder for the host's readiness checks.
    /// </summary>
    public static IHealthChecksBuilder AddServiceDefaults(this IHostApplicationBuilder builder, bool otherExporter = false)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<HealthOptions>()
            .BindConfiguration(HealthOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<TelemetryOptions>()
            .BindConfiguration(TelemetryOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<HealthCheckServiceOptions>()
            .PostConfigure<IOptions<HealthOptions>>((checks, health) =>
            {
                foreach (var registration in checks.Registrations.Where(r => r.Tags.Contains(ReadinessCheckExtensions.ReadinessTag)))
                {
                    registration.Timeout = health.Value.ProbeTimeout;
                }
            });

        if (GatewayTelemetry.IsEnabled(builder.Configuration, otherExporter))
        {
            builder.AddGatewayOpenTelemetry();
        }

        return builder.Services.AddHealthChecks();
    }

    /// <summary>Maps <c>GET /healthz</c>, <c>GET /readyz</c> and, when enabled, <c>GET /metrics</c> (Prometheus).</summary>
    public static IEndpointRouteBuilder MapServiceDefaults(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet(HealthEndpoints.LivenessPath, HealthEndpoints.Live).WithTags("Health").WithSummary("The process is alive");
        endpoints.MapGet(HealthEndpoints.ReadinessPath, (Delegate)new Func<HttpContext, Task<IResult>>(HealthEndpoints.ReadyAsync))
            .WithTags("Health").WithSummary("Every dependency of the host answers (503 problem listing the failing ones)");
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value.PrometheusEndpoint)
        {
            endpoints.MapPrometheusScrapingEndpoint();
        }

        return endpoints;
    }

    /// <summary>
    /// Validates the configuration, then runs the host: exit code 0 after a normal stop, 2
    /// (<see cref="StartupValidation.InvalidConfigurationExitCode"/>) for a bad setting, reported as one line naming it on
    /// standard error, also when it surfaces only while the host starts.
    /// </summary>
    public static async Task<int> RunServiceAsync(this IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (!StartupValidation.TryValidate(host.Services, Console.Error))
        {
            return StartupValidation.InvalidConfigurationExitCode;
        }

        try
        {
            await host.RunAsync();
            return 0;
        }
        catch (Exception ex) when (StartupValidation.TryDescribe(ex, Console.Error))
        {
            return StartupValidation.InvalidConfigurationExitCode;
        }
    }
}
