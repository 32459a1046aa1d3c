using Azure.Core;
using Azure.Monitor.OpenTelemetry.Exporter;
using MailGateway.ServiceDefaults;
using MailGateway.ServiceDefaults.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace MailGateway.AzureAdapters;

/// <summary>The host defaults of the Azure hosts: the shared ones, plus Azure Monitor.</summary>
public static class AzureServiceDefaultsExtensions
{
    /// <summary>
    /// <see cref="ServiceDefaultsExtensions.AddServiceDefaults"/>, and when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>
    /// is set (the Bicep sets it), traces, metrics and logs go to Azure Monitor too, authenticated with the gateway's
    /// one credential (Application Insights has local authentication off: Entra ID only).
    /// </summary>
    public static IHealthChecksBuilder AddAzureServiceDefaults(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var connectionString = builder.Configuration[TelemetryOptions.ApplicationInsightsSetting];
        var azureMonitor = !string.IsNullOrWhiteSpace(connectionString);
        var health = builder.AddServiceDefaults(otherExporter: azureMonitor);
        if (azureMonitor && GatewayTelemetry.IsEnabled(builder.Configuration, otherExporter: true))
        {
            AzureAdaptersHostingExtensions.AddGatewayCredential(builder.Services);
            builder.AddGatewayOpenTelemetry().UseAzureMonitorExporter(o => o.ConnectionString = connectionString);
            builder.Services.AddOptions<AzureMonitorExporterOptions>().Configure<TokenCredential>((o, credential) => o.Credential = credential);
        }

        return health;
    }
}
