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
}
