using System.Text.Json;
using MailGateway.Testing;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// What the standalone host ships: its build output's deps.json, which lists every assembly the host loads (the bin
/// folder itself may hold stale files from an earlier build).
/// </summary>
public sealed class PackagingTests
{
    // The Azure SDKs, their identity stack (MSAL) and the Azure Monitor exporter belong to the Azure adapters only.
    private static readonly string[] AzureOnly = ["Azure.", "Microsoft.Azure.", "Microsoft.Identity.", "Microsoft.IdentityModel."];

    // tests/MailGateway.Standalone.Tests/bin/<Configuration>/net10.0/ → the same configuration of the standalone project.
    private static string StandaloneOutput()
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return RepositoryRoot.Combine("src", "MailGateway.Standalone", "bin", framework.Parent!.Name, framework.Name);
    }

    private static bool IsAzureOnly(string name) => AzureOnly.Any(prefix => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));

    [Fact]
    public void The_standalone_host_depends_on_no_Azure_package()
    {
        using var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(StandaloneOutput(), "MailGateway.Standalone.deps.json")));

        var libraries = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name).ToList();

        Assert.Contains(libraries, l => l.StartsWith("MailGateway.Listener/", StringComparison.Ordinal));
        Assert.DoesNotContain(libraries, IsAzureOnly);
    }
}
