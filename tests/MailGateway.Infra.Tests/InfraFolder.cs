using MailGateway.Testing;

namespace MailGateway.Infra.Tests;

/// <summary>
/// A throw-away copy of the repository's <c>infra/</c> folder: the CLI writes its outputs (compiled JSON, snapshots)
/// next to its inputs, and the checkout must stay untouched by a test run.
/// </summary>
public sealed class InfraFolder : IDisposable
{
    /// <summary>The subscription the snapshot pretends to deploy to.</summary>
    public const string SubscriptionId = "00000000-0000-0000-0000-000000000000";

    /// <summary>The region the snapshot pretends to deploy to.</summary>
    public const string Location = "westeurope";

    /// <summary>The relay password of <see cref="AzdEnvironment"/>: it must appear in no app setting.</summary>
    public const string SampleRelayPassword = "sample-relay-password-7f3a9c";

    /// <summary>The VERP signing key of <see cref="AzdEnvironment"/>: it too must appear in no app setting.</summary>
    public const string SampleBounceSecret = "sample-bounce-secret-of-32-characters-4d1e";

    /// <summary>The deploying user's object ID of <see cref="AzdEnvironment"/>.</summary>
    public const string SamplePrincipalId = "11111111-2222-3333-4444-555555555555";

    /// <summary>
    /// What azd would pass to <c>main.bicepparam</c>: its own variables and the ones the README tells the operator to set.
    /// Every optional input is set too, so every conditional setting is in the snapshot.
    /// </summary>
    public static IReadOnlyDictionary<string, string> AzdEnvironment { get; } = new Dictionary<string, string>
    {
        ["AZURE_ENV_NAME"] = "ci",
        ["AZURE_LOCATION"] = Location,
        ["AZURE_PRINCIPAL_ID"] = SamplePrincipalId,
        ["MAILGATEWAY_RELAY_HOST"] = "smtp.relay.example",
        ["MAILGATEWAY_RELAY_USERNAME"] = "gateway@example.com",
        ["MAILGATEWAY_RELAY_PASSWORD"] = SampleRelayPassword,
        ["MAILGATEWAY_INBOUND_DOMAINS"] = "example.com, example.org",
        ["MAILGATEWAY_INBOUND_TLS_CERTIFICATE"] = "inbound-tls",
        ["MAILGATEWAY_BOUNCE_DOMAIN"] = "bounces.example.com",
        ["MAILGATEWAY_BOUNCE_SECRET"] = SampleBounceSecret,
        // As after azd's first deploy: the real images, so the snapshot has the steady state (probes included).
        ["SERVICE_DELIVERY_IMAGE_NAME"] = "crsample.azurecr.io/mailgateway/delivery-ci:azd-deploy-1",
        ["SERVICE_INBOUND_IMAGE_NAME"] = "crsample.azurecr.io/mailgateway/inbound-ci:azd-deploy-1",
        ["SERVICE_DASHBOARD_IMAGE_NAME"] = "crsample.azurecr.io/mailgateway/dashboard-ci:azd-deploy-1",
        // One key with its selector, one that takes it from the secret's tag and is not active yet.
        ["MAILGATEWAY_DKIM_KEYS"] =
            """[{"domain":"example.com","selector":"s1","secretName":"dkim-example-com-s1"},""" +
            """{"domain":"example.org","secretName":"dkim-example-org","active":false}]""",
        ["MAILGATEWAY_API_KEYS"] =
            """[{"id":"billing","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","allowedSenderDomains":["example.com","*.example.org"]},""" +
            """{"id":"crm","sha256":"60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752","allowedSenderDomains":["example.com"]}]""",
    };

    /// <summary>Copies <c>infra/</c> into a new temporary folder.</summary>
    public InfraFolder()
    {
        FullPath = Directory.CreateTempSubdirectory("mailgateway-infra-").FullName;
        var source = RepositoryRoot.Combine("infra");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(FullPath, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>The copy's absolute path.</summary>
    public string FullPath { get; }

    /// <summary>The <c>.bicep</c> files of the repository's <c>infra/</c> folder, relative to it.</summary>
    public static IReadOnlyList<string> BicepFiles =>
        Directory.EnumerateFiles(RepositoryRoot.Combine("infra"), "*.bicep", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(RepositoryRoot.Combine("infra"), f))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(FullPath, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a test for.
        }
    }
}
