using System.Text.Json;
using System.Text.RegularExpressions;

namespace MailGateway.Infra.Tests;

/// <summary>
/// What <c>azd up</c> would deploy: <c>bicep snapshot</c> of <c>infra/main.bicepparam</c> with
/// <see cref="InfraFolder.AzdEnvironment"/>. The snapshot expands modules, loops and conditions into the predicted
/// resources; values known only at deployment time (another resource's endpoint, an identity's client ID) stay ARM
/// expressions (<c>[reference(…)]</c>). One snapshot serves every test (<see cref="DeploymentSnapshotCollection"/>).
/// </summary>
public sealed partial class DeploymentSnapshot : IAsyncLifetime
{
    private JsonDocument? _document;

    /// <summary>The predicted resources.</summary>
    public IReadOnlyList<JsonElement> Resources { get; private set; } = [];

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        using var infra = new InfraFolder();
        var run = await BicepCli.RunAsync(infra.FullPath, InfraFolder.AzdEnvironment, CancellationToken.None,
            "snapshot", "main.bicepparam", "--mode", "overwrite",
            "--subscription-id", InfraFolder.SubscriptionId, "--location", InfraFolder.Location);
        var file = Path.Combine(infra.FullPath, "main.snapshot.json");
        if (run.ExitCode != 0 || run.Problems.Count > 0 || !File.Exists(file))
        {
            throw new InvalidOperationException("The deployment snapshot failed.\n" + run.Describe());
        }

        _document = JsonDocument.Parse(await File.ReadAllTextAsync(file));
        Resources = _document.RootElement.GetProperty("predictedResources").EnumerateArray().ToList();
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        _document?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>The resources of one type.</summary>
    public IReadOnlyList<JsonElement> OfType(string type) =>
        Resources.Where(r => string.Equals(r.GetProperty("type").GetString(), type, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>The one resource of a type whose name matches.</summary>
    public JsonElement Single(string type, Func<string, bool>? name = null) =>
        Assert.Single(OfType(type), r => name is null || name(r.GetProperty("name").GetString()!));

    /// <summary>The container app tagged for an azd service (<c>delivery</c>, <c>inbound</c>).</summary>
    public JsonElement ContainerApp(string service) =>
        Assert.Single(OfType("Microsoft.App/containerApps"), r => Tag(r, "azd-service-name") == service);

    /// <summary>The Function App tagged for an azd service (<c>api</c>).</summary>
    public JsonElement FunctionApp(string service) =>
        Assert.Single(OfType("Microsoft.Web/sites"), r => Tag(r, "azd-service-name") == service);

    /// <summary>The settings of the Function App: its <c>appsettings</c> config resource.</summary>
    public IReadOnlyList<AppSetting> FunctionAppSettings(string service)
    {
        var site = FunctionApp(service).GetProperty("name").GetString();
        var config = Single("Microsoft.Web/sites/config", n => n == $"{site}/appsettings");
        return config.GetProperty("properties").EnumerateObject()
            .Select(p => new AppSetting(p.Name, p.Value.GetString(), null))
            .ToList();
    }

    /// <summary>The environment variables of the single container of a container app.</summary>
    public IReadOnlyList<AppSetting> ContainerEnvironment(string service)
    {
        var container = Assert.Single(ContainerApp(service).GetProperty("properties").GetProperty("template").GetProperty("containers").EnumerateArray());
        var env = container.GetProperty("env");
        Assert.True(env.ValueKind == JsonValueKind.Array,
            $"The env of the {service} container is not a literal array in the snapshot (a condition on a deployment-time value?): {env}");
        return env.EnumerateArray()
            .Select(e => new AppSetting(
                e.GetProperty("name").GetString()!,
                e.TryGetProperty("value", out var value) ? value.GetString() : null,
                e.TryGetProperty("secretRef", out var secret) ? secret.GetString() : null))
            .ToList();
    }

    /// <summary>A tag of a resource, or null.</summary>
    public static string? Tag(JsonElement resource, string name) =>
        resource.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Object && tags.TryGetProperty(name, out var value)
            ? value.GetString()
            : null;

    /// <summary>True for a value known only at deployment time (an ARM expression).</summary>
    public static bool IsExpression(string? value) =>
        value is not null && value.StartsWith('[') && value.EndsWith(']') && !value.StartsWith("[[", StringComparison.Ordinal);

    /// <summary>
    /// The user-assigned identity an expression refers to, by the part of its name between <c>id-</c> and the
    /// deployment token: <c>api</c>, <c>delivery</c>, <c>delivery-scaler</c>, <c>inbound</c>; null if none.
    /// </summary>
    public static string? IdentityIn(string? value)
    {
        var match = value is null ? null : IdentityName().Match(value);
        return match is { Success: true } ? match.Groups["who"].Value : null;
    }

    [GeneratedRegex(@"userAssignedIdentities/id-(?<who>[a-z-]+)-[a-z0-9]{13}\b")]
    private static partial Regex IdentityName();
}

/// <summary>An app setting or container environment variable: a value, or a reference to a container app secret.</summary>
public sealed record AppSetting(string Name, string? Value, string? SecretRef);

/// <summary>One snapshot for every test class that reads it (the CLI run is the slow part).</summary>
[CollectionDefinition(Name)]
public sealed class DeploymentSnapshotCollection : ICollectionFixture<DeploymentSnapshot>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Deployment snapshot";
}
