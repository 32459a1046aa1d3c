using System.Text.Json;
using MailGateway.Testing;

namespace MailGateway.Functions.Tests;

/// <summary>What the Functions host would load: the linked root host.json and the generated function metadata.</summary>
public sealed class FunctionsPackagingTests
{
    // tests/MailGateway.Functions.Tests/bin/<Configuration>/net10.0/ → the same configuration of the Functions project.
    private static string FunctionsOutput(string file)
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        return RepositoryRoot.Combine("src", "MailGateway.Functions", "bin", configuration, framework.Name, file);
    }

    [Fact]
    public void The_root_host_json_is_in_the_output_with_an_empty_route_prefix()
    {
        var output = File.ReadAllText(FunctionsOutput("host.json"));

        Assert.Equal(File.ReadAllText(RepositoryRoot.Combine("host.json")), output);
        var prefix = JsonDocument.Parse(output).RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString();
        Assert.Equal("", prefix);
    }

    [Fact]
    public void The_triggers_have_the_standalone_hosts_routes_and_are_anonymous()
    {
        using var metadata = JsonDocument.Parse(File.ReadAllText(FunctionsOutput("functions.metadata")));

        var routes = metadata.RootElement.EnumerateArray()
            .Select(f => (Name: f.GetProperty("name").GetString(), Trigger: f.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger")))
            .Select(f => $"{f.Name} {string.Join(',', f.Trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()))} /{f.Trigger.GetProperty("route").GetString()} {f.Trigger.GetProperty("authLevel").GetString()}")
            .Order(StringComparer.Ordinal);

        Assert.Equal(
            [
                "AddSuppressions post /api/v1/suppressions Anonymous",
                "CancelMessage post /api/v1/messages/{id}/cancel Anonymous",
                "GetDeadLetter get /api/v1/dead-letters/{id} Anonymous",
                "GetMessage get /api/v1/messages/{id} Anonymous",
                "Health get /healthz Anonymous",
                "ListDeadLetters get /api/v1/dead-letters Anonymous",
                "ListEvents get /api/v1/events Anonymous",
                "ListMessageEvents get /api/v1/messages/{id}/events Anonymous",
                "ListMessages get /api/v1/messages Anonymous",
                "ListSuppressions get /api/v1/suppressions Anonymous",
                "ListWebhooks get /api/v1/webhooks Anonymous",
                "PurgeDeadLetter delete /api/v1/dead-letters/{id} Anonymous",
                "PurgeDeadLetters post /api/v1/dead-letters/purge Anonymous",
                "Ready get /readyz Anonymous",
                "RemoveSuppression delete /api/v1/suppressions/{address} Anonymous",
                "ReplayDeadLetter post /api/v1/dead-letters/{id}/replay Anonymous",
                "ReplayDeadLetters post /api/v1/dead-letters/replay Anonymous",
                "SendMessage post /api/v1/messages Anonymous",
                "SendMessageBatch post /api/v1/messages/batch Anonymous",
            ],
            routes);
    }
}
