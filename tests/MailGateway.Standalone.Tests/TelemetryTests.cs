using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Text;
using MailGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace MailGateway.Standalone.Tests;

/// <summary>The standalone host's OpenTelemetry (MailGateway.ServiceDefaults): what it records and where it sends it.</summary>
[Collection(ProcessWideTelemetryCollection.Name)]
public sealed partial class TelemetryTests
{
    [Fact]
    public async Task A_POST_and_its_delivery_are_one_trace_exported_through_OpenTelemetry()
    {
        await using var relay = await TestRelay.StartAsync();
        var spans = new LockedCollection<Activity>();
        await using var host = await GatewayHost.StartAsync(
            relay,
            s => s["MailGateway:Telemetry:Enabled"] = "true",
            services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans)));

        var id = await host.SendAsync();
        await host.WaitForStatusAsync(id, "delivered");

        var request = await WaitForAsync(spans, a => a.Kind == ActivityKind.Server && a.DisplayName.StartsWith("POST /api/v1/messages", StringComparison.Ordinal));
        var delivery = await WaitForAsync(spans, a => a.Source.Name == "MailGateway.Delivery" && (string?)a.GetTagItem("mailgateway.message_id") == id);
        Assert.Equal(202, request.GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityKind.Client, delivery.Kind);
        Assert.Equal("Delivered", delivery.GetTagItem("mailgateway.outcome"));

        // One trace from the POST to the relay's reply: the job carries the request's trace context, the handler's
        // "deliver message" span is the request span's child and the SMTP attempt is the handler span's child.
        var handling = await WaitForAsync(spans, a => a.DisplayName == "deliver message" && (string?)a.GetTagItem("mailgateway.message_id") == id);
        Assert.Equal(request.TraceId, handling.TraceId);
        Assert.Equal(request.SpanId, handling.ParentSpanId);
        Assert.Equal(request.TraceId, delivery.TraceId);
        Assert.Equal(handling.SpanId, delivery.ParentSpanId);
    }

    [Fact]
    public async Task Without_an_exporter_no_tracer_is_registered()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);

        // Nothing listens to the gateway's sources, so the hot path creates no activity at all.
        Assert.Null(host.Services.GetService<TracerProvider>());
        using var activity = new ActivitySource("MailGateway.Delivery").StartActivity("probe");
        Assert.Null(activity);
    }

    [Fact]
    public async Task Setting_OTEL_EXPORTER_OTLP_ENDPOINT_exports_traces_over_OTLP()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, s =>
        {
            s["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint.ToString();
            s["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            s["OTEL_BSP_SCHEDULE_DELAY"] = "100";
        });

        var id = await host.SendAsync();
        await host.WaitForStatusAsync(id, "delivered");

        // The export is protobuf; span names and attribute values travel as plain UTF-8 strings in it.
        var request = await receiver.WaitForAsync("/v1/traces", body => Contains(body, "POST /api/v1/messages"));
        var delivery = await receiver.WaitForAsync("/v1/traces", body => Contains(body, "smtp deliver") && Contains(body, id));
        Assert.Equal("application/x-protobuf", request.ContentType);
        Assert.Equal("application/x-protobuf", delivery.ContentType);
    }

    [Fact]
    public async Task The_Prometheus_endpoint_serves_the_metrics_with_the_queue_depth_when_enabled()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay, s =>
        {
            s["MailGateway:Telemetry:PrometheusEndpoint"] = "true";
            s["MailGateway:Telemetry:QueueSampleInterval"] = "00:00:00.100";
        });
        using var anonymous = new HttpClient { BaseAddress = host.Client.BaseAddress };
        var message = new { from = "app@example.com", to = new[] { "a@example.net" }, text = "later", sendAt = DateTimeOffset.UtcNow.AddHours(1) };
        var (response, _) = await host.PostAsync(message);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);

        // The scheduled job waits in the queue: depth 1, and nothing is due yet.
        var metrics = await PollMetricsAsync(anonymous, text => QueueDepthLine().IsMatch(text));
        Assert.Matches(@"(?m)^mailgateway_queue_oldest_job_age_seconds(\{[^}]*\})? 0(\s|$)", metrics);
        Assert.Contains("mailgateway_api_messages_accepted", metrics, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Prometheus_endpoint_is_off_by_default()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var host = await GatewayHost.StartAsync(relay);

        using var response = await host.Client.GetAsync("/metrics");

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    private static async Task<string> PollMetricsAsync(HttpClient client, Func<string, bool> match)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var text = "";
        while (!deadline.IsCancellationRequested)
        {
            using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            text = await response.Content.ReadAsStringAsync();
            if (match(text))
            {
                return text;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        }

        Assert.Fail("The metrics did not match before the deadline:\n" + text);
        return text;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?m)^mailgateway_queue_depth(\{[^}]*\})? 1(\s|$)")]
    private static partial System.Text.RegularExpressions.Regex QueueDepthLine();

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    private static async Task<Activity> WaitForAsync(LockedCollection<Activity> spans, Func<Activity, bool> match)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            if (spans.Snapshot().FirstOrDefault(match) is { } found)
            {
                return found;
            }

            Assert.False(deadline.IsCancellationRequested, "No such span before the deadline: " + string.Join(", ", spans.Snapshot().Select(s => s.DisplayName)));
            await Task.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None);
        }
    }

    /// <summary>The in-memory exporter adds from whichever thread ends an activity.</summary>
    private sealed class LockedCollection<T> : Collection<T>
    {
        private readonly Lock _gate = new();

        public List<T> Snapshot()
        {
            lock (_gate)
            {
                return [.. Items];
            }
        }

        protected override void InsertItem(int index, T item)
        {
            lock (_gate)
            {
                base.InsertItem(index, item);
            }
        }
    }

    /// <summary>An OTLP/HTTP receiver on loopback: Kestrel accepting <c>POST /v1/{signal}</c>, keeping every body.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly List<(string Path, string? ContentType, byte[] Body)> _exports = [];
        private readonly Lock _gate = new();

        private OtlpReceiver(WebApplication app) => _app = app;

        public Uri Endpoint { get; private set; } = null!;

        public static async Task<OtlpReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            // Its own source and listener, which nothing listens to: in the gateway's process the receiver's requests
            // would otherwise be traced by the gateway's ASP.NET Core instrumentation and exported to it again.
            builder.Services.AddSingleton(new ActivitySource("MailGateway.Tests.OtlpReceiver"));
            builder.Services.AddSingleton(new DiagnosticListener("MailGateway.Tests.OtlpReceiver"));
            var app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.MapPost("/v1/{signal}", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
                lock (receiver._gate)
                {
                    receiver._exports.Add((context.Request.Path.Value!, context.Request.ContentType, body.ToArray()));
                }

                // An empty ExportTraceServiceResponse: full success.
                context.Response.ContentType = "application/x-protobuf";
                context.Response.StatusCode = StatusCodes.Status200OK;
            });
            await app.StartAsync();
            receiver.Endpoint = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            return receiver;
        }

        public async Task<(string? ContentType, byte[] Body)> WaitForAsync(string path, Func<byte[], bool> match)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                lock (_gate)
                {
                    foreach (var export in _exports.Where(e => e.Path == path && match(e.Body)))
                    {
                        return (export.ContentType, export.Body);
                    }
                }

                Assert.False(deadline.IsCancellationRequested, $"No matching OTLP export to {path} before the deadline; received: {string.Join(", ", Paths())}");
                await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None);
            }
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();

        private List<string> Paths()
        {
            lock (_gate)
            {
                return [.. _exports.Select(e => e.Path)];
            }
        }
    }
}
