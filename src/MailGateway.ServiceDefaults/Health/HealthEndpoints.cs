using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MailGateway.ServiceDefaults.Health;

/// <summary>
/// The one health contract of every host. <c>GET /healthz</c> (liveness): <c>200 {"status":"alive"}</c> while the
/// process runs. <c>GET /readyz</c> (readiness, every check tagged <see cref="ReadinessCheckExtensions.ReadinessTag"/>):
/// <c>200 {"status":"ready","checks":{"queue":true,…}}</c>, or a <c>503</c> RFC 9457 problem whose <c>errors</c> list
/// each failing part (<c>{"field":"queue","code":"unavailable",…}</c>) with the same <c>checks</c> map. The Functions
/// host answers its triggers with the same results.
/// </summary>
public static class HealthEndpoints
{
    /// <summary>The liveness path.</summary>
    public const string LivenessPath = "/healthz";

    /// <summary>The readiness path.</summary>
    public const string ReadinessPath = "/readyz";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The liveness answer: the process is alive (no dependency is checked).</summary>
    public static IResult Live() => Results.Text("{\"status\":\"alive\"}", "application/json", statusCode: StatusCodes.Status200OK);

    /// <summary>Runs the readiness checks of the request's services and answers the readiness contract.</summary>
    public static async Task<IResult> ReadyAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var health = context.RequestServices.GetRequiredService<HealthCheckService>();
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(ReadinessCheckExtensions.ReadinessTag), context.RequestAborted);
        return new ReadinessResult(report);
    }

    private sealed class ReadinessResult(HealthReport report) : IResult, IStatusCodeHttpResult
    {
        private bool Ready => report.Status == HealthStatus.Healthy;

        public int? StatusCode => Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCode!.Value;
            response.Headers.CacheControl = "no-store";
            using var buffer = new MemoryStream();
            await using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                writer.WriteStartObject();
                if (Ready)
                {
                    response.ContentType = "application/json";
                    writer.WriteString("status", "ready");
                }
                else
                {
                    response.ContentType = "application/problem+json";
                    writer.WriteString("type", "https://www.rfc-editor.org/rfc/rfc9110#status.503");
                    writer.WriteString("title", "Not ready");
                    writer.WriteNumber("status", StatusCodes.Status503ServiceUnavailable);
                    writer.WriteString("detail", "A dependency of the gateway is unavailable.");
                    writer.WriteString("instance", httpContext.Request.Path.Value);
                    writer.WriteStartArray("errors");
                    foreach (var (name, _) in report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).OrderBy(e => e.Key, StringComparer.Ordinal))
                    {
                        writer.WriteStartObject();
                        writer.WriteString("field", name);
                        writer.WriteString("code", "unavailable");
                        writer.WriteString("message", $"The {name} is not reachable.");
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                    writer.WriteString("traceId", httpContext.TraceIdentifier);
                }

                // Names and booleans only: what failed inside a check is logged, never answered.
                writer.WriteStartObject("checks");
                foreach (var (name, entry) in report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    writer.WriteBoolean(name, entry.Status == HealthStatus.Healthy);
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            response.ContentLength = buffer.Length;
            buffer.Position = 0;
            await buffer.CopyToAsync(response.Body, httpContext.RequestAborted);
        }
    }
}
