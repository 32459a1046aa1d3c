using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using MailGateway.Testing;

namespace MailGateway.Client.Tests;

/// <summary><c>dotnet pack</c> of both packages: metadata, README, XML docs, SourceLink, and the dependency footprint.</summary>
public sealed class PackageTests
{
    [Fact]
    public async Task Both_packages_carry_readme_license_repository_and_docs_and_the_core_one_depends_on_no_ASP_NET_Core()
    {
        var output = Path.Combine(Path.GetTempPath(), "mgw-pack-" + Guid.NewGuid().ToString("N"));
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        try
        {
            await PackAsync("MailGateway.Client", configuration, output);
            await PackAsync("MailGateway.Client.AspNetCore", configuration, output);

            var core = Read(Path.Combine(output, "MailGateway.Client.0.1.0.nupkg"));
            var web = Read(Path.Combine(output, "MailGateway.Client.AspNetCore.0.1.0.nupkg"));

            foreach (var package in new[] { core, web })
            {
                Assert.Equal("README.md", package.Metadata("readme"));
                Assert.Equal("MIT", package.Metadata("license"));
                Assert.Equal("git", package.Element("repository")!.Attribute("type")!.Value);
                Assert.Matches("^[0-9a-f]{40}$", package.Element("repository")!.Attribute("commit")!.Value);
                Assert.Contains("README.md", package.Files);
            }

            Assert.Contains("lib/net10.0/MailGateway.Client.xml", core.Files);
            Assert.Contains("lib/net10.0/MailGateway.Client.AspNetCore.xml", web.Files);
            Assert.Equal(["Microsoft.Extensions.Http", "Microsoft.Extensions.Http.Resilience", "Microsoft.Extensions.Options.ConfigurationExtensions"], core.Dependencies);
            Assert.Null(core.Element("frameworkReferences"));
            Assert.Equal(["MailGateway.Client"], web.Dependencies);
            Assert.Equal("Microsoft.AspNetCore.App", web.Element("frameworkReferences")!.Descendants().Single(e => e.Name.LocalName == "frameworkReference").Attribute("name")!.Value);
            Assert.True(File.Exists(Path.Combine(output, "MailGateway.Client.0.1.0.snupkg")));
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    private static async Task PackAsync(string project, string configuration, string output)
    {
        // --no-build: the test project already built both projects in the same configuration.
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "pack", RepositoryRoot.Combine("src", project, project + ".csproj"), "-c", configuration, "--no-build", "-o", output })
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(deadline.Token);
        Assert.True(process.ExitCode == 0, await stdout + await stderr);
    }

    private static Package Read(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        return new Package(metadata, [.. zip.Entries.Select(e => e.FullName)]);
    }

    private sealed record Package(XElement MetadataElement, IReadOnlyList<string> Files)
    {
        public XElement? Element(string name) => MetadataElement.Elements().SingleOrDefault(e => e.Name.LocalName == name);

        public string? Metadata(string name) => Element(name)?.Value;

        public IReadOnlyList<string> Dependencies =>
            [.. MetadataElement.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")!.Value).Order(StringComparer.Ordinal)];
    }
}
