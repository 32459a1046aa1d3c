using MailGateway.Api;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MailGateway.Standalone;

/// <summary>Adds what the OpenAPI generator cannot infer from endpoints that read the body themselves.</summary>
internal static class OpenApiDocumentation
{
    public static async Task DescribeRequestBodyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata.OfType<SendMessageRequestMetadata>().FirstOrDefault();
        if (metadata is null)
        {
            return;
        }

        var schema = await context.GetOrCreateSchemaAsync(metadata.RequestType, null, cancellationToken);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType> { [metadata.ContentType] = new() { Schema = schema } },
        };
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = "Idempotency-Key",
            In = ParameterLocation.Header,
            Required = false,
            Description = "Same key and body within 24 hours: the original answer, one delivery. Same key, other body: 422.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 255 },
        });
    }

    /// <summary>Declares the API-key schemes so the reference page can send authenticated requests.</summary>
    public static Task DescribeSecurityAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key as 'Authorization: Bearer <key>' (the standalone host prints a development key at start).",
        };
        document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "The same API key in the X-Api-Key header.",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("apiKey", document)] = [] });
        return Task.CompletedTask;
    }
}
