using Microsoft.OpenApi;

namespace MailGateway.Standalone.Tests.Contract;

/// <summary>
/// Schemas the generator derives from types without a hand-written schema (an endpoint added later) are made to say
/// what the API writes: a nullable property is optional and not nullable, an integer is a number, never a string.
/// </summary>
public sealed class OpenApiNormalizationTests
{
    [Fact]
    public void Nullable_properties_become_optional_and_integers_stop_accepting_strings()
    {
        var schema = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Required = new HashSet<string> { "id", "note", "count", "child" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["id"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["note"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["count"] = new OpenApiSchema { Type = JsonSchemaType.Integer | JsonSchemaType.String, Pattern = "^-?(?:0|[1-9]\\d*)$" },
                ["child"] = new OpenApiSchema { OneOf = [new OpenApiSchema { Type = JsonSchemaType.Null }, new OpenApiSchema { Type = JsonSchemaType.Object }] },
            },
        };

        OpenApiDocumentation.Normalize(schema);

        Assert.Equal(["count", "id"], schema.Required.Order(StringComparer.Ordinal));
        Assert.Equal(JsonSchemaType.String, schema.Properties["note"].Type);
        Assert.Equal(JsonSchemaType.Integer, schema.Properties["count"].Type);
        Assert.Null(schema.Properties["count"].Pattern);
        Assert.Equal(JsonSchemaType.Object, schema.Properties["child"].Type);
    }
}
