using System.Text.RegularExpressions;
using MailGateway.Dashboard.Azure;
using MailGateway.Delivery;
using MailGateway.Functions;
using MailGateway.Inbound;
using MailGateway.Testing;
using Microsoft.Extensions.Hosting;

namespace MailGateway.Infra.Tests;

/// <summary>A setting the platform or an SDK reads from the environment, not the gateway's configuration binding.</summary>
/// <param name="Name">The setting.</param>
/// <param name="ReadBy">Who reads it, and why it is needed.</param>
public sealed record PlatformSetting(string Name, string ReadBy);

/// <summary>One app the templates deploy, and how to run its registration.</summary>
/// <param name="Service">The azd service name (the resource's azd-service-name tag).</param>
/// <param name="Compose">The app's composition, as its Program.cs calls it.</param>
/// <param name="AppSettingsJson">The appsettings.json the app ships, if any.</param>
/// <param name="Platform">Settings read outside the configuration binding: allowed, and required, for this app.</param>
public sealed record DeployedApp(
    string Service,
    Action<IHostApplicationBuilder> Compose,
    string? AppSettingsJson,
    IReadOnlyList<PlatformSetting> Platform)
{
    /// <inheritdoc />
    public override string ToString() => Service;
}

/// <summary>The four apps, their compositions and the settings the platform reads for them.</summary>
public static partial class DeployedApps
{
    private static readonly PlatformSetting AzureClientId = new(
        "AZURE_CLIENT_ID",
        "Azure.Identity (DefaultAzureCredential, from the environment): which user-assigned identity to use; without it the managed identity credential finds none");

    private static readonly PlatformSetting ApplicationInsights = new(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "AddAzureServiceDefaults (MailGateway.AzureAdapters): the Azure Monitor exporter of the app's OpenTelemetry, authenticated with the app identity");

    /// <summary>The HTTP API on the Function App.</summary>
    public static DeployedApp Api { get; } = new(
        "api",
        b => b.AddMailGatewayFunctions(),
        null,
        [
            new("AzureWebJobsStorage__accountName", "Functions host: identity-based host storage (Flex Consumption needs host storage)"),
            new("AzureWebJobsStorage__credential", "Functions host: 'managedidentity' selects the identity-based connection"),
            new("AzureWebJobsStorage__clientId", "Functions host: the user-assigned identity of the host storage connection"),
            new("APPLICATIONINSIGHTS_CONNECTION_STRING", "Functions host: where host and worker telemetry go"),
            new("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Functions host: Entra ID authentication to Application Insights (local auth is off)"),
            AzureClientId,
        ]);

    /// <summary>The delivery worker container app.</summary>
    public static DeployedApp Delivery { get; } = new(
        "delivery",
        b => b.AddDeliveryWorker(),
        RepositoryRoot.Combine("src", "MailGateway.Delivery", "appsettings.json"),
        [AzureClientId, ApplicationInsights]);

    /// <summary>The inbound listener container app (Program.cs: <c>AddInboundHost()</c>).</summary>
    public static DeployedApp Inbound { get; } = new(
        "inbound",
        b => b.AddInboundHost(),
        RepositoryRoot.Combine("src", "MailGateway.Inbound", "appsettings.json"),
        [AzureClientId, ApplicationInsights]);

    /// <summary>The dashboard container app (Program.cs: <c>AddAzureDashboard()</c>).</summary>
    public static DeployedApp Dashboard { get; } = new(
        "dashboard",
        b => b.AddAzureDashboard(),
        null,
        [AzureClientId, ApplicationInsights]);

    /// <summary>All of them.</summary>
    public static IReadOnlyList<DeployedApp> All { get; } = [Api, Delivery, Inbound, Dashboard];

    /// <summary>For theories.</summary>
    public static TheoryData<string> Services => new(All.Select(a => a.Service));

    /// <summary>The app of an azd service.</summary>
    public static DeployedApp Get(string service) => All.Single(a => a.Service == service);

    /// <summary>The settings the templates write for an app, with the values it would see.</summary>
    public static IReadOnlyDictionary<string, string?> WrittenSettings(DeploymentSnapshot snapshot, DeployedApp app)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(app);
        var settings = app.Service == Api.Service ? snapshot.FunctionAppSettings(app.Service) : snapshot.ContainerEnvironment(app.Service);
        var duplicates = settings.GroupBy(s => s.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"{app.Service}: settings written twice: {string.Join(", ", duplicates)}");
        return settings.ToDictionary(s => s.Name, s => ValueAtRuntime(s), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The value an app sees: the literal from the template; for a Key Vault reference a sample secret; for a value known
    /// only at deployment time (an ARM expression), a sample of what Azure returns for that output.
    /// </summary>
    private static string? ValueAtRuntime(AppSetting setting)
    {
        if (setting.SecretRef is not null)
        {
            // Long enough for every secret the apps validate (MailGateway:Bounces:Secret needs 32 characters).
            return "sample-secret-from-key-vault-0123456789";
        }

        if (!DeploymentSnapshot.IsExpression(setting.Value))
        {
            return setting.Value;
        }

        var output = ModuleOutput().Match(setting.Value!);
        if (output.Success)
        {
            return output.Groups["name"].Value switch
            {
                "blobEndpoint" => "https://stsample.blob.core.windows.net/",
                "tableEndpoint" => "https://stsample.table.core.windows.net/",
                "fullyQualifiedNamespace" => "sb-sample.servicebus.windows.net",
                "queueName" => "outbound",
                "outboundContainerName" => "outbound",
                "inboundContainerName" => "inbound",
                "statusTableName" => "MessageStatus",
                "idempotencyTableName" => "IdempotencyKeys",
                "suppressionTableName" => "Suppressions",
                "eventFeedTableName" => "EventFeed",
                "webhookTableName" => "Webhooks",
                "name" => "stsample",
                "uri" => "https://kv-sample.vault.azure.net/",
                "applicationInsightsConnectionString" => "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
                var other => throw new InvalidOperationException(
                    $"{setting.Name} is the module output '{other}', which has no sample value: add one to DeployedApps.ValueAtRuntime."),
            };
        }

        if (setting.Value!.Contains("').clientId", StringComparison.Ordinal))
        {
            return setting.Value.StartsWith("[format('ClientId={0};Authorization=AAD'", StringComparison.Ordinal)
                ? "ClientId=00000000-0000-0000-0000-0000000000c1;Authorization=AAD"
                : "00000000-0000-0000-0000-0000000000c1";
        }

        if (setting.Value.EndsWith("').vaultUri]", StringComparison.Ordinal))
        {
            return "https://kv-sample.vault.azure.net/";
        }

        throw new InvalidOperationException($"{setting.Name} = {setting.Value}: no sample value for this expression; add one to DeployedApps.ValueAtRuntime.");
    }

    [GeneratedRegex(@"\.outputs\.(?<name>[A-Za-z0-9]+)\.value\]$")]
    private static partial Regex ModuleOutput();
}
