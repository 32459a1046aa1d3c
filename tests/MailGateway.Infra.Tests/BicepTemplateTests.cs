using System.Text.Json;
using MailGateway.Testing;

namespace MailGateway.Infra.Tests;

/// <summary>Every template compiles and lints clean with the pinned Bicep CLI and the repository's linter settings.</summary>
public sealed class BicepTemplateTests
{
    [Fact]
    public void The_infra_folder_has_the_entry_template_and_its_modules()
    {
        var files = InfraFolder.BicepFiles;
        Assert.Contains("main.bicep", files);
        Assert.Contains(files, f => f.StartsWith("modules" + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        Assert.True(File.Exists(RepositoryRoot.Combine("infra", "main.bicepparam")), "infra/main.bicepparam is missing.");
        Assert.True(File.Exists(RepositoryRoot.Combine("azure.yaml")), "azure.yaml is missing.");
    }

    [Fact]
    public async Task Every_bicep_file_compiles_without_errors_or_warnings()
    {
        using var infra = new InfraFolder();
        var output = Path.Combine(infra.FullPath, "compiled");
        var run = await BicepCli.RunAsync(infra.FullPath, null, CancellationToken.None,
            "build", "--pattern", "**/*.bicep", "--outdir", output);

        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.True(run.Problems.Count == 0, "Bicep build diagnostics:\n" + string.Join('\n', run.Problems));
        foreach (var file in InfraFolder.BicepFiles)
        {
            var compiled = Path.Combine(output, Path.ChangeExtension(file, ".json"));
            Assert.True(File.Exists(compiled), $"{file} was not compiled (no {compiled}).\n{run.Describe()}");
            using var template = JsonDocument.Parse(File.ReadAllText(compiled));
            Assert.Contains("DeploymentTemplate.json", template.RootElement.GetProperty("$schema").GetString(), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Every_bicep_file_lints_without_errors_or_warnings()
    {
        using var infra = new InfraFolder();
        var run = await BicepCli.RunAsync(infra.FullPath, null, CancellationToken.None,
            "lint", "--pattern", "**/*.bicep");

        Assert.True(run.Problems.Count == 0, "Bicep linter diagnostics:\n" + string.Join('\n', run.Problems));
        Assert.True(run.ExitCode == 0, run.Describe());
    }

    [Fact]
    public async Task The_parameters_file_builds_and_lints_clean_with_an_azd_environment()
    {
        using var infra = new InfraFolder();
        var build = await BicepCli.RunAsync(infra.FullPath, InfraFolder.AzdEnvironment, CancellationToken.None,
            "build-params", "main.bicepparam", "--outfile", Path.Combine(infra.FullPath, "main.parameters.built.json"));
        Assert.True(build.ExitCode == 0 && build.Problems.Count == 0, build.Describe());

        var lint = await BicepCli.RunAsync(infra.FullPath, InfraFolder.AzdEnvironment, CancellationToken.None,
            "lint", "main.bicepparam");
        Assert.True(lint.ExitCode == 0 && lint.Problems.Count == 0, lint.Describe());

        using var parameters = JsonDocument.Parse(File.ReadAllText(Path.Combine(infra.FullPath, "main.parameters.built.json")));
        var values = parameters.RootElement.GetProperty("parameters");
        Assert.Equal(["example.com", "example.org"], values.GetProperty("inboundDomains").GetProperty("value").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("mx.example.com", values.GetProperty("inboundServerName").GetProperty("value").GetString());
        Assert.Equal(2, values.GetProperty("apiKeys").GetProperty("value").GetArrayLength());
    }

    [Fact]
    public async Task The_parameters_file_names_the_azd_variables_it_needs_when_they_are_missing()
    {
        using var infra = new InfraFolder();
        var environment = InfraFolder.AzdEnvironment.Where(e => e.Key != "MAILGATEWAY_RELAY_HOST").ToDictionary();
        var run = await BicepCli.RunAsync(infra.FullPath, environment, CancellationToken.None,
            "build-params", "main.bicepparam", "--stdout");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(run.Problems, d => d.Level == "Error" && d.Message.Contains("MAILGATEWAY_RELAY_HOST", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_linter_settings_fail_a_template_that_breaks_a_core_rule()
    {
        // Proves the check can fail: the repository's bicepconfig.json applied to a template with an unused parameter,
        // a hard-coded location and a secret-looking parameter without @secure().
        using var folder = new TempFolder();
        File.Copy(RepositoryRoot.Combine("infra", "bicepconfig.json"), Path.Combine(folder.FullPath, "bicepconfig.json"));
        File.WriteAllText(Path.Combine(folder.FullPath, "bad.bicep"), """
            param unused string
            param adminPassword string
            resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
              name: 'id-${adminPassword}'
              location: 'westeurope'
            }
            """);

        var run = await BicepCli.RunAsync(folder.FullPath, null, CancellationToken.None, "lint", "bad.bicep");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(run.Problems, d => d.Code == "no-unused-params");
        Assert.Contains(run.Problems, d => d.Code == "no-hardcoded-location");
        Assert.Contains(run.Problems, d => d.Code == "secure-secrets-in-params");
    }

    [Fact]
    public void The_linter_settings_turn_no_core_rule_off()
    {
        using var config = JsonDocument.Parse(
            File.ReadAllText(RepositoryRoot.Combine("infra", "bicepconfig.json")),
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        var core = config.RootElement.GetProperty("analyzers").GetProperty("core");

        Assert.True(core.GetProperty("enabled").GetBoolean());
        var rules = core.GetProperty("rules").EnumerateObject().ToList();
        Assert.NotEmpty(rules);
        Assert.All(rules, rule => Assert.Contains(rule.Value.GetProperty("level").GetString(), new[] { "warning", "error" }));
    }

    [Fact]
    public void No_template_uses_a_registry_module()
    {
        // Registry modules (br:, br/public:, ts:) cannot be restored without the network, so CI could not compile them.
        foreach (var file in InfraFolder.BicepFiles)
        {
            var text = File.ReadAllText(RepositoryRoot.Combine("infra", file));
            Assert.DoesNotContain("'br:", text, StringComparison.Ordinal);
            Assert.DoesNotContain("'br/", text, StringComparison.Ordinal);
            Assert.DoesNotContain("'ts:", text, StringComparison.Ordinal);
            Assert.DoesNotContain("'ts/", text, StringComparison.Ordinal);
        }
    }

    /// <summary>A temporary folder removed at the end of the test.</summary>
    private sealed class TempFolder : IDisposable
    {
        public string FullPath { get; } = Directory.CreateTempSubdirectory("mailgateway-bicep-").FullName;

        public void Dispose() => Directory.Delete(FullPath, recursive: true);
    }
}
