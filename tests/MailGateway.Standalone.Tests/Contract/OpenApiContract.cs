using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace MailGateway.Standalone.Tests.Contract;

/// <summary>
/// The served OpenAPI document, read as the contract: its operations, their documented answers, and a JSON Schema
/// validator (JsonSchema.Net, 2020-12, formats checked) for the schemas the document gives them. Validation is stricter
/// than the document: an object schema that lists its properties and says nothing about others is closed, so an answer
/// with a field the document does not name fails ("no more"); a required one missing fails ("no less").
/// </summary>
internal sealed class OpenApiContract
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];

    private readonly JsonObject _document;
    private readonly JsonObject _schemas;

    public OpenApiContract(string json)
    {
        _document = JsonNode.Parse(json)!.AsObject();
        _schemas = _document["components"]?["schemas"]?.AsObject() ?? [];
    }

    public JsonObject Document => _document;

    /// <summary>Every documented (method, path) pair; the method upper-case.</summary>
    public IReadOnlyList<(string Method, string Path)> Operations =>
        [.. _document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Where(m => Methods.Contains(m.Key)).Select(m => (m.Key.ToUpperInvariant(), p.Key)))];

    /// <summary>Every documented (method, path, status).</summary>
    public IReadOnlyList<(string Method, string Path, int Status)> Responses =>
        [.. Operations.SelectMany(o => Operation(o.Method, o.Path)!["responses"]!.AsObject().Select(r => (o.Method, o.Path, int.Parse(r.Key, System.Globalization.CultureInfo.InvariantCulture))))];

    public JsonObject? Operation(string method, string path) =>
        _document["paths"]?[path]?[method.ToLowerInvariant()]?.AsObject();

    /// <summary>The values of <c>FieldError.code</c>.</summary>
    public IReadOnlyList<string> ErrorCodes =>
        [.. _schemas["FieldError"]!["properties"]!["code"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>())];

    /// <summary>A component schema (resolving nothing: as written).</summary>
    public JsonObject Schema(string id) => _schemas[id]!.AsObject();

    /// <summary>Every way <paramref name="response"/> departs from what the document says about it (empty: it conforms).</summary>
    public async Task<IReadOnlyList<string>> CheckAsync(string method, string path, HttpResponseMessage response)
    {
        var problems = new List<string>();
        var operation = Operation(method, path);
        if (operation is null)
        {
            return [$"the document has no operation {method} {path}"];
        }

        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation["responses"]?[status] is not JsonObject documented)
        {
            return [$"{method} {path} answered {status}, which the document does not list for it"];
        }

        foreach (var (name, header) in documented["headers"]?.AsObject() ?? [])
        {
            if (header?["required"]?.GetValue<bool>() == true && !HasHeader(response, name))
            {
                problems.Add($"the documented header {name} is missing");
            }
        }

        var body = await response.Content.ReadAsStringAsync();
        var content = documented["content"]?.AsObject();
        if (content is null || content.Count == 0)
        {
            if (body.Length > 0)
            {
                problems.Add($"the document says no body, the answer has one: {body}");
            }

            return problems;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is null || content[mediaType] is not JsonObject media)
        {
            problems.Add($"Content-Type '{mediaType}' is not one the document lists ({string.Join(", ", content.Select(c => c.Key))})");
            return problems;
        }

        if (media["schema"] is not JsonObject schema)
        {
            return problems;
        }

        problems.AddRange(Validate(schema, body));
        return problems;
    }

    /// <summary>Validates JSON text against a schema of the document (inline, or a <c>$ref</c> to a component).</summary>
    public IReadOnlyList<string> Validate(JsonObject schema, string json)
    {
        JsonElement instance;
        try
        {
            instance = JsonDocument.Parse(json).RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return [$"the body is not JSON ({ex.Message}): {json}"];
        }

        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = Strict(Rewrite(_schemas.DeepClone())),
        };
        foreach (var (key, value) in Strict(Rewrite(schema.DeepClone())).AsObject())
        {
            root[key] = value?.DeepClone();
        }

        var built = JsonSchema.FromText(root.ToJsonString(), BuildOptions.Default, new Uri($"urn:uuid:{Guid.NewGuid()}"));
        var results = built.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        if (results.IsValid)
        {
            return [];
        }

        var errors = (results.Details ?? [])
            .Prepend(results)
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"at '{d.InstanceLocation}' ({d.EvaluationPath}): {e.Key}: {e.Value}"))
            .ToList();
        return [$"the body does not match its schema: {string.Join(" | ", errors)} — body: {json}"];
    }

    private static bool HasHeader(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out _) || response.Content.Headers.TryGetValues(name, out _);

    // Component references point into the validator's $defs.
    private static JsonNode Rewrite(JsonNode node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj.ToList())
                {
                    if (key == "$ref" && value is JsonValue reference && reference.GetValue<string>().StartsWith("#/components/schemas/", StringComparison.Ordinal))
                    {
                        obj[key] = "#/$defs/" + reference.GetValue<string>()["#/components/schemas/".Length..];
                    }
                    else if (value is not null)
                    {
                        Rewrite(value);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is not null)
                    {
                        Rewrite(item);
                    }
                }

                break;
        }

        return node;
    }

    // A schema that names its properties and says nothing about others is closed for the test.
    private static JsonNode Strict(JsonNode node)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj["properties"] is JsonObject && !obj.ContainsKey("additionalProperties") && !obj.ContainsKey("unevaluatedProperties"))
                {
                    obj["unevaluatedProperties"] = false;
                }

                foreach (var (_, value) in obj.ToList())
                {
                    if (value is not null)
                    {
                        Strict(value);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is not null)
                    {
                        Strict(item);
                    }
                }

                break;
        }

        return node;
    }
}

/// <summary>Helpers for requests of the contract cases.</summary>
internal static class ContractRequests
{
    public static HttpRequestMessage JsonRequest(HttpMethod method, string path, string json, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return request;
    }

    public static HttpRequestMessage JsonRequest(HttpMethod method, string path, object body, string? idempotencyKey = null) =>
        JsonRequest(method, path, JsonSerializer.Serialize(body), idempotencyKey);
}
