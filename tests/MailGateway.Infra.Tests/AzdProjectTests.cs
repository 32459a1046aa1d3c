using System.Text.RegularExpressions;
using MailGateway.Testing;

namespace MailGateway.Infra.Tests;

/// <summary>azure.yaml, the templates and the projects agree: azd finds each service's resource and builds its image.</summary>
[Collection(DeploymentSnapshotCollection.Name)]
public sealed partial class AzdProjectTests(DeploymentSnapshot snapshot)
{
    [Fact]
    public void Every_azd_service_has_its_project_and_exactly_one_tagged_resource_of_its_host_kind()
    {
        var services = ReadServices();
        Assert.Equal(["api", "dashboard", "delivery", "inbound"], services.Keys.Order(StringComparer.Ordinal));

        foreach (var (name, properties) in services)
        {
            var project = RepositoryRoot.Combine(properties["project"].Split('/'));
            Assert.True(Directory.Exists(project), $"azure.yaml service {name}: project folder {properties["project"]} does not exist.");
            Assert.Single(Directory.GetFiles(project, "*.csproj"));
            Assert.Equal("dotnet", properties["language"]);

            var type = properties["host"] switch
            {
                "function" => "Microsoft.Web/sites",
                "containerapp" => "Microsoft.App/containerApps",
                var other => throw new InvalidOperationException($"azure.yaml service {name}: unexpected host {other}."),
            };
            var tagged = snapshot.Resources.Where(r => DeploymentSnapshot.Tag(r, "azd-service-name") == name).ToList();
            var resource = Assert.Single(tagged);
            Assert.Equal(type, resource.GetProperty("type").GetString());

            if (properties["host"] == "containerapp")
            {
                Assert.True(File.Exists(Path.Combine(project, properties["path"])), $"azure.yaml service {name}: no {properties["path"]} in {properties["project"]}.");
                Assert.True(File.Exists(Path.Combine(project, properties["context"], "MailGateway.sln")), $"azure.yaml service {name}: the docker context is not the repository root.");
            }
        }
    }

    [Theory]
    [InlineData("delivery", "MailGateway.Delivery")]
    [InlineData("inbound", "MailGateway.Inbound")]
    [InlineData("dashboard", "MailGateway.Dashboard.Azure")]
    public void The_container_app_probes_the_health_endpoints_on_the_port_its_image_serves_HTTP_on(string service, string project)
    {
        var dockerfile = File.ReadAllText(RepositoryRoot.Combine("src", project, "Dockerfile"));
        var port = HttpPorts().Match(dockerfile);
        Assert.True(port.Success, $"src/{project}/Dockerfile no longer sets ASPNETCORE_HTTP_PORTS.");

        var container = Assert.Single(snapshot.ContainerApp(service).GetProperty("properties").GetProperty("template").GetProperty("containers").EnumerateArray());
        var probes = container.GetProperty("probes").EnumerateArray().ToDictionary(p => p.GetProperty("type").GetString()!, p => p.GetProperty("httpGet"));
        Assert.Equal(["Liveness", "Readiness"], probes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("/healthz", probes["Liveness"].GetProperty("path").GetString());
        Assert.Equal("/readyz", probes["Readiness"].GetProperty("path").GetString());
        Assert.All(probes.Values, p => Assert.Equal(int.Parse(port.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture), p.GetProperty("port").GetInt32()));
    }

    [Theory]
    [InlineData("MailGateway.Delivery")]
    [InlineData("MailGateway.Inbound")]
    [InlineData("MailGateway.Dashboard.Azure")]
    public void The_Dockerfile_copies_every_project_the_host_references(string host)
    {
        var dockerfile = File.ReadAllText(RepositoryRoot.Combine("src", host, "Dockerfile"));

        var missing = ProjectClosure(host)
            .Where(p => !dockerfile.Contains($"COPY src/{p}/{p}.csproj src/{p}/", StringComparison.Ordinal) || !dockerfile.Contains($"COPY src/{p}/ src/{p}/", StringComparison.Ordinal))
            .ToList();

        Assert.True(missing.Count == 0, $"src/{host}/Dockerfile does not copy (project file for the restore layer, then sources): {string.Join(", ", missing)}");
    }

    /// <summary>A project under src/ and every project it references, directly or not.</summary>
    private static SortedSet<string> ProjectClosure(string project)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var name))
        {
            if (!seen.Add(name))
            {
                continue;
            }

            var csproj = File.ReadAllText(RepositoryRoot.Combine("src", name, name + ".csproj"));
            foreach (Match reference in ProjectReference().Matches(csproj))
            {
                pending.Push(reference.Groups["name"].Value);
            }
        }

        return seen;
    }

    [GeneratedRegex(@"<ProjectReference Include=""\.\./(?<name>[A-Za-z.]+)/[A-Za-z.]+\.csproj""")]
    private static partial Regex ProjectReference();

    /// <summary>The services of azure.yaml: name → flat properties (project, language, host, path, context).</summary>
    private static Dictionary<string, Dictionary<string, string>> ReadServices()
    {
        var services = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var inServices = false;
        Dictionary<string, string>? current = null;
        foreach (var raw in File.ReadAllLines(RepositoryRoot.Combine("azure.yaml")))
        {
            var line = raw.Split('#')[0].TrimEnd();
            if (line.Length == 0)
            {
                continue;
            }

            if (!line.StartsWith(' '))
            {
                inServices = line == "services:";
                continue;
            }

            if (!inServices)
            {
                continue;
            }

            var entry = YamlEntry().Match(line);
            Assert.True(entry.Success, $"azure.yaml: cannot read '{line}'.");
            var indent = entry.Groups["indent"].Length;
            var key = entry.Groups["key"].Value;
            var value = entry.Groups["value"].Value.Trim();
            if (indent == 2)
            {
                services[key] = current = new Dictionary<string, string>(StringComparer.Ordinal);
            }
            else if (current is not null && value.Length > 0)
            {
                current[key] = value;
            }
        }

        return services;
    }

    [GeneratedRegex(@"^(?<indent> +)(?<key>[A-Za-z0-9_-]+):(?<value>.*)$")]
    private static partial Regex YamlEntry();

    [GeneratedRegex(@"ASPNETCORE_HTTP_PORTS=(?<port>\d+)")]
    private static partial Regex HttpPorts();
}
