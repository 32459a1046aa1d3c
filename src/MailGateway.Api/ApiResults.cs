using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace MailGateway.Api;

/// <summary>
/// Results that write themselves without services from the container, so the standalone host and the Functions host
/// (which executes an <see cref="IResult"/> against its own <see cref="HttpContext"/>) answer byte for byte alike.
/// </summary>
public static class ApiResults
{
    /// <summary>The media type of problem answers (RFC 9457).</summary>
    public const string ProblemContentType = "application/problem+json";

    /// <summary>400 problem+json listing every field error of the request at once.</summary>
    internal static IResult ValidationProblem(IReadOnlyList<FieldError> errors) =>
        Problem(StatusCodes.Status400BadRequest, "Invalid request", $"The request has {errors.Count} problem(s); see errors.", errors);

    /// <summary>A JSON answer.</summary>
    public static IResult Json<T>(T value, JsonTypeInfo<T> typeInfo, int statusCode, string? location = null) =>
        new JsonResult<T>(value, typeInfo, statusCode, location);

    /// <summary>
    /// An RFC 9457 problem: <c>type</c>, <c>title</c>, <c>status</c>, <c>detail</c>, and for validation problems an
    /// <c>errors</c> array with every field error (<c>field</c>, <c>code</c>, <c>message</c>).
    /// </summary>
    public static IResult Problem(int statusCode, string title, string detail, IReadOnlyList<FieldError>? errors = null, IReadOnlyDictionary<string, string>? headers = null) =>
        new ProblemResult(statusCode, title, detail, errors ?? [], headers);

    private sealed class JsonResult<T>(T value, JsonTypeInfo<T> typeInfo, int statusCode, string? location) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => statusCode;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = statusCode;
            response.ContentType = "application/json; charset=utf-8";
            if (location is not null)
            {
                response.Headers.Location = location;
            }

            await JsonSerializer.SerializeAsync(response.Body, value, typeInfo, httpContext.RequestAborted);
        }
    }

    private sealed class ProblemResult(int statusCode, string title, string detail, IReadOnlyList<FieldError> errors, IReadOnlyDictionary<string, string>? headers) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => statusCode;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = statusCode;
            response.ContentType = ProblemContentType;
            response.Headers.CacheControl = "no-store";
            if (headers is not null)
            {
                foreach (var (name, value) in headers)
                {
                    response.Headers[name] = value;
                }
            }

            using var buffer = new MemoryStream();
            await using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStartObject();
                writer.WriteString("type", "https://www.rfc-editor.org/rfc/rfc9110#status." + statusCode.ToString(CultureInfo.InvariantCulture));
                writer.WriteString("title", title);
                writer.WriteNumber("status", statusCode);
                writer.WriteString("detail", detail);
                writer.WriteString("instance", httpContext.Request.Path.Value);
                if (errors.Count > 0)
                {
                    writer.WriteStartArray("errors");
                    foreach (var error in errors)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("field", error.Field);
                        writer.WriteString("code", error.Code);
                        writer.WriteString("message", error.Message);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                }

                writer.WriteString("traceId", httpContext.TraceIdentifier);
                writer.WriteEndObject();
            }

            response.ContentLength = buffer.Length;
            buffer.Position = 0;
            await buffer.CopyToAsync(response.Body, httpContext.RequestAborted);
        }
    }
}
