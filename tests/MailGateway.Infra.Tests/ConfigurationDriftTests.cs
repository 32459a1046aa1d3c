using Azure.Identity;

namespace MailGateway.Infra.Tests;

/// <summary>
/// No drift between the templates and the apps: every setting the Bicep writes is a key the app reads, and the app
/// starts (its options validate) with exactly what the Bicep writes plus its own appsettings.json. The keys the apps
/// read come from running their own registration code (<see cref="AppConfigurationProbe"/>), not from a list here.
/// </summary>
[Collection(DeploymentSnapshotCollection.Name)]
public sealed class ConfigurationDriftTests(DeploymentSnapshot snapshot)
{
    public static TheoryData<string> Services => DeployedApps.Services;

    [Theory]
    [MemberData(nameof(Services))]
    public void Every_setting_the_Bicep_writes_is_read_by_the_app(string service)
    {
        var app = DeployedApps.Get(service);
        var written = DeployedApps.WrittenSettings(snapshot, app);
        var probe = AppConfigurationProbe.Run(app.Compose, app.AppSettingsJson, AppSettingsOnly(app, written));

        Assert.NotEmpty(probe.OptionsTypes);
        var unread = written.Keys
            .Where(name => !app.Platform.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
            .Where(name => !probe.Reads.Contains(ToConfigurationKey(name)))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(unread.Count == 0,
            $"The Bicep writes settings the {service} app never reads (a renamed or removed option?): {string.Join(", ", unread)}.\n" +
            $"Options classes bound: {string.Join(", ", probe.OptionsTypes.Select(t => t.Name))}");
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void The_app_starts_with_the_settings_the_Bicep_writes(string service)
    {
        var app = DeployedApps.Get(service);
        var written = DeployedApps.WrittenSettings(snapshot, app);
        var probe = AppConfigurationProbe.Run(app.Compose, app.AppSettingsJson, AppSettingsOnly(app, written));

        Assert.True(probe.Failures.Count == 0,
            $"With the settings the Bicep writes, the {service} app would not start:\n{string.Join('\n', probe.Failures)}");
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void The_Bicep_writes_the_platform_settings_the_app_needs(string service)
    {
        var app = DeployedApps.Get(service);
        var written = DeployedApps.WrittenSettings(snapshot, app);

        var missing = app.Platform.Where(p => !written.ContainsKey(p.Name)).Select(p => $"{p.Name} ({p.ReadBy})").ToList();
        Assert.True(missing.Count == 0, $"{service} lacks: {string.Join("; ", missing)}");
        Assert.All(app.Platform, p => Assert.False(string.IsNullOrEmpty(written[p.Name]), $"{service}: {p.Name} is empty."));
    }

    [Fact]
    public void The_check_reports_a_setting_that_no_app_reads()
    {
        var written = DeployedApps.WrittenSettings(snapshot, DeployedApps.Delivery).ToDictionary();
        written["MailGateway__Relay__Hots"] = "typo.example";
        written["MailGateway__DeliveryWorker__MaxConcurentCalls"] = "4";

        var probe = AppConfigurationProbe.Run(DeployedApps.Delivery.Compose, DeployedApps.Delivery.AppSettingsJson, AppSettingsOnly(DeployedApps.Delivery, written));

        Assert.DoesNotContain("MailGateway:Relay:Hots", probe.Reads);
        Assert.DoesNotContain("MailGateway:DeliveryWorker:MaxConcurentCalls", probe.Reads);
        Assert.Contains("MailGateway:Relay:Host", probe.Reads);
        Assert.Contains("MailGateway:Relay:Endpoints:0:Port", probe.Reads);
    }

    [Theory]
    [InlineData("delivery", "MailGateway__Relay__Host")]
    [InlineData("delivery", "MailGateway__ServiceBus__FullyQualifiedNamespace")]
    [InlineData("api", "MailGateway__AzureStorage__TableServiceUri")]
    [InlineData("dashboard", "MailGateway__ServiceBus__FullyQualifiedNamespace")]
    [InlineData("dashboard", "MailGateway__AzureStorage__TableServiceUri")]
    [InlineData("inbound", "MailGateway__AzureStorage__BlobServiceUri")]
    [InlineData("inbound", "MailGateway__AzureStorage__TableServiceUri")]
    [InlineData("inbound", "MailGateway__Bounces__Secret")]
    [InlineData("delivery", "MailGateway__Bounces__Secret")]
    public void The_check_reports_a_required_setting_the_Bicep_would_not_write(string service, string setting)
    {
        var app = DeployedApps.Get(service);
        var written = DeployedApps.WrittenSettings(snapshot, app)
            .Where(s => !string.Equals(s.Key, setting, StringComparison.OrdinalIgnoreCase)
                        && !(setting.EndsWith("__0", StringComparison.Ordinal) && s.Key.StartsWith(setting[..^1], StringComparison.OrdinalIgnoreCase)))
            .ToDictionary();

        var probe = AppConfigurationProbe.Run(app.Compose, app.AppSettingsJson, AppSettingsOnly(app, written));

        Assert.NotEmpty(probe.Failures);
    }

    [Fact]
    public void AZURE_CLIENT_ID_selects_the_managed_identity_of_DefaultAzureCredential()
    {
        // The apps build DefaultAzureCredential without options; it takes the user-assigned identity from the environment.
        var previous = Environment.GetEnvironmentVariable("AZURE_CLIENT_ID");
        try
        {
            Environment.SetEnvironmentVariable("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000000c1");
            Assert.Equal("00000000-0000-0000-0000-0000000000c1", new DefaultAzureCredentialOptions().ManagedIdentityClientId);
        }
        finally
        {
            Environment.SetEnvironmentVariable("AZURE_CLIENT_ID", previous);
        }
    }

    private static string ToConfigurationKey(string setting) => setting.Replace("__", ":", StringComparison.Ordinal);

    /// <summary>The written settings without the platform ones, which the app's configuration never sees in Azure.</summary>
    private static Dictionary<string, string?> AppSettingsOnly(DeployedApp app, IReadOnlyDictionary<string, string?> written) =>
        written.Where(s => !app.Platform.Any(p => string.Equals(p.Name, s.Key, StringComparison.OrdinalIgnoreCase)))
            .ToDictionary(s => s.Key, s => s.Value, StringComparer.OrdinalIgnoreCase);
}
