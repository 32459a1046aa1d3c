using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MailGateway.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Standalone.Tests.Contract;

/// <summary>
/// The served OpenAPI document is the contract: live answers of every operation (success and error) match its schemas,
/// every operation and status it lists is exercised, every mapped endpoint is in it, and the README's API section names
/// the same endpoints and error codes.
/// </summary>
public sealed partial class ContractTests(ContractHosts hosts) : IClassFixture<ContractHosts>
{
    public static TheoryData<string> CaseNames()
    {
        var names = new TheoryData<string>();
        foreach (var contractCase in ContractCases.All)
        {
            names.Add(contractCase.Name);
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Live_answer_matches_the_served_document(string name)
    {
        var contractCase = ContractCases.All.Single(c => c.Name == name);
        var contract = await hosts.ContractAsync();

        using var response = await contractCase.SendAsync(hosts);

        Assert.True(contractCase.Status == (int)response.StatusCode,
            $"{name}: expected {contractCase.Status}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var problems = await contract.CheckAsync(contractCase.Method, contractCase.Path, response);
        Assert.True(problems.Count == 0, $"{name}: {string.Join(Environment.NewLine, problems)}");
    }

    [Fact]
    public async Task Every_documented_operation_and_status_is_exercised_by_a_case()
    {
        var contract = await hosts.ContractAsync();
        var exercised = ContractCases.All.Select(c => (c.Method, c.Path, c.Status)).ToHashSet();

        var missing = contract.Responses.Where(r => !exercised.Contains(r) && !ContractCases.NotExercised.ContainsKey(r)).ToList();
        var undocumented = exercised.Where(c => !contract.Responses.Contains(c)).ToList();
        var staleExemptions = ContractCases.NotExercised.Keys.Where(k => !contract.Responses.Contains(k) || exercised.Contains(k)).ToList();

        Assert.True(missing.Count == 0, "Documented but no case exercises it (add one to ContractCases): " + string.Join(", ", missing));
        Assert.True(undocumented.Count == 0, "A case expects an answer the document does not list: " + string.Join(", ", undocumented));
        Assert.True(staleExemptions.Count == 0, "NotExercised lists what is exercised or not documented: " + string.Join(", ", staleExemptions));
    }

    [Fact]
    public async Task Every_mapped_endpoint_is_in_the_document_and_the_document_has_no_other()
    {
        var host = await hosts.MainAsync();
        var contract = await hosts.ContractAsync();
        var mapped = host.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .Select(e => (Endpoint: e, Path: "/" + RouteParameter().Replace(e.RoutePattern.RawText ?? "", "{$1}").Trim('/')))
            .Where(e => !e.Path.StartsWith("/openapi", StringComparison.Ordinal) && !e.Path.StartsWith("/scalar", StringComparison.Ordinal))
            .SelectMany(e => (e.Endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (m.ToUpperInvariant(), e.Path)))
            .ToHashSet();

        Assert.Equal(mapped.Order(), contract.Operations.ToHashSet().Order());
    }

    [Theory]
    [InlineData("""{"id": "1", "status": "queued"}""", true)]
    [InlineData("""{"id": "1", "status": "queued", "extra": 1}""", false)]
    [InlineData("""{"id": "1"}""", false)]
    [InlineData("""{"id": null, "status": "queued"}""", false)]
    [InlineData("""{"id": "1", "status": "lost"}""", false)]
    public async Task The_validator_refuses_what_the_document_does_not_allow(string body, bool valid)
    {
        var contract = await hosts.ContractAsync();

        var problems = contract.Validate(new JsonObject { ["$ref"] = "#/components/schemas/AcceptedMessageResponse" }, body);

        Assert.Equal(valid, problems.Count == 0);
    }

    [Fact]
    public async Task The_validator_checks_nested_schemas_and_formats()
    {
        var contract = await hosts.ContractAsync();
        var schema = new JsonObject { ["$ref"] = "#/components/schemas/MessageStatusResponse" };
        const string Valid = """{"id": "1", "status": "delivered", "createdAt": "2026-12-01T09:00:00+00:00", "updatedAt": "2026-12-01T09:00:01Z", "attempts": [{"number": 1, "startedAt": "2026-12-01T09:00:00Z", "durationMs": 5, "outcome": "delivered", "port": 587, "tls": "Tls13", "reply": "250 OK"}], "recipients": [{"address": "a@example.net", "status": "delivered"}], "tags": [], "metadata": {}}""";

        Assert.Empty(contract.Validate(schema, Valid));
        Assert.NotEmpty(contract.Validate(schema, Valid.Replace("\"port\": 587", "\"port\": null", StringComparison.Ordinal)));
        Assert.NotEmpty(contract.Validate(schema, Valid.Replace("\"createdAt\": \"2026-12-01T09:00:00+00:00\"", "\"createdAt\": \"yesterday\"", StringComparison.Ordinal)));
        Assert.NotEmpty(contract.Validate(schema, Valid.Replace("\"outcome\": \"delivered\"", "\"outcome\": \"bounced\"", StringComparison.Ordinal)));
        Assert.NotEmpty(contract.Validate(schema, Valid.Replace("\"reply\": \"250 OK\"", "\"reply\": \"250 OK\", \"cipher\": \"x\"", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_example_request_matches_the_request_schema()
    {
        var contract = await hosts.ContractAsync();
        var body = contract.Operation("POST", ContractCases.Messages)!["requestBody"]!["content"]!["application/json"]!.AsObject();

        var problems = contract.Validate(body["schema"]!.AsObject(), body["example"]!.ToJsonString());

        Assert.Empty(problems);
        Assert.DoesNotContain("null", body["example"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_document_names_the_api_and_keeps_the_key_placeholder_of_the_auth_hint()
    {
        var contract = await hosts.ContractAsync();
        var schemes = contract.Document["components"]!["securitySchemes"]!;

        Assert.Equal("MailGateway API", contract.Document["info"]!["title"]!.GetValue<string>());
        Assert.Contains("`Authorization: Bearer <key>`", schemes["bearer"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("`X-Api-Key: <key>`", schemes["apiKey"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("bearer", schemes["bearer"]!["scheme"]!.GetValue<string>());
    }

    [Fact]
    public async Task No_answer_schema_allows_null_and_no_optional_field_is_required()
    {
        var contract = await hosts.ContractAsync();

        var nullable = contract.Document["components"]!["schemas"]!.AsObject()
            .SelectMany(s => Descendants(s.Value!).Where(n => n is JsonObject o && o["type"] is JsonNode t && t.ToJsonString().Contains("\"null\"", StringComparison.Ordinal)).Select(_ => s.Key))
            .ToList();

        Assert.Empty(nullable);
        Assert.DoesNotContain("sendAt", Required(contract.Schema("MessageStatusResponse")));
        Assert.DoesNotContain("tls", Required(contract.Schema("AttemptResponse")));
    }

    [Fact]
    public async Task Readme_api_section_lists_the_documented_endpoints_and_error_codes()
    {
        var contract = await hosts.ContractAsync();
        var readme = await File.ReadAllTextAsync(RepositoryRoot.Combine("README.md"));
        var start = readme.IndexOf("\n## HTTP API", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no '## HTTP API' section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = readme[start..(end < 0 ? readme.Length : end)];

        // Endpoints: "### `POST /api/v1/messages`" headings, and "| `GET /healthz` |" rows of the health table.
        var endpoints = ReadmeEndpoint().Matches(section).Select(m => (m.Groups["method"].Value, m.Groups["path"].Value)).ToHashSet();
        Assert.Equal(contract.Operations.ToHashSet().Order(), endpoints.Order());

        // Error codes: the rows of the "### Error codes" table: | `code` | statuses | meaning |.
        var table = section[section.IndexOf("### Error codes", StringComparison.Ordinal)..];
        table = table[..(table.IndexOf("\n### ", 1, StringComparison.Ordinal) is var next and > 0 ? next : table.Length)];
        var rows = ReadmeErrorCode().Matches(table).Select(m => (Code: m.Groups["code"].Value, Statuses: m.Groups["statuses"].Value)).ToList();
        Assert.Equal(contract.ErrorCodes.Order(StringComparer.Ordinal), rows.Select(r => r.Code).Order(StringComparer.Ordinal));
        var documentedStatuses = contract.Responses.Select(r => r.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        Assert.All(rows, r => Assert.All(Regex.Matches(r.Statuses, "[1-5][0-9][0-9]").Select(m => m.Value), s => Assert.Contains(s, documentedStatuses)));
    }

    private static IEnumerable<JsonNode> Descendants(JsonNode node) => node switch
    {
        JsonObject o => o.Select(p => p.Value).OfType<JsonNode>().SelectMany(Descendants).Prepend(node),
        JsonArray a => a.OfType<JsonNode>().SelectMany(Descendants).Prepend(node),
        _ => [node],
    };

    private static List<string> Required(JsonObject schema) => [.. schema["required"]?.AsArray().Select(v => v!.GetValue<string>()) ?? []];

    [GeneratedRegex(@"\{([^}:=?]+)[^}]*\}")]
    private static partial Regex RouteParameter();

    [GeneratedRegex(@"^(?:###|\|) `(?<method>GET|POST|PUT|PATCH|DELETE) (?<path>/[^`\s]*)`", RegexOptions.Multiline)]
    private static partial Regex ReadmeEndpoint();

    [GeneratedRegex(@"^\| `(?<code>[a-z0-9_]+)` \| (?<statuses>[^|]*) \|", RegexOptions.Multiline)]
    private static partial Regex ReadmeErrorCode();
}
