using System.Collections.Concurrent;
using System.Diagnostics;
using MailGateway.Core.Delivery;
using MailGateway.Testing;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// One trace from the POST to the relay's reply: the W3C trace context of the accepting request travels with the job
/// (a column of the SQLite queue), and the delivery is a child of the request span — also when the job is read back
/// after a restart.
/// </summary>
[Collection(ProcessWideTelemetryCollection.Name)]
public sealed class TraceContextTests : IAsyncLifetime, IDisposable
{
    private readonly ConcurrentBag<Activity> _stopped = [];
    private readonly ActivityListener _listener;
    private TestRelay _relay = null!;

    public TraceContextTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore" or DeliveryTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Add,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public async Task InitializeAsync() => _relay = await TestRelay.StartAsync();

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task The_delivery_of_a_message_is_a_child_of_the_request_span_that_accepted_it()
    {
        await using var host = await GatewayHost.StartAsync(_relay);
        var (traceId, callerSpan) = NewTraceContext();

        var id = await PostTracedAsync(host, traceId, callerSpan);
        await host.WaitForStatusAsync(id, "delivered");

        await AssertDeliveryIsChildOfRequestAsync(id, traceId, callerSpan);
    }

    [Fact]
    public async Task After_a_restart_the_delivery_still_joins_the_trace_of_the_request()
    {
        var data = GatewayHost.NewDataDirectory();
        var (traceId, callerSpan) = NewTraceContext();
        var accepting = await GatewayHost.StartAsync(_relay, s => s["MailGateway:DeliveryWorker:Enabled"] = "false", dataDirectory: data);
        var id = await PostTracedAsync(accepting, traceId, callerSpan);
        await accepting.StopAsync(); // the data stays for the next start, which deletes it when disposed

        await using var delivering = await GatewayHost.StartAsync(_relay, dataDirectory: data);
        await delivering.WaitForStatusAsync(id, "delivered");

        await AssertDeliveryIsChildOfRequestAsync(id, traceId, callerSpan);
    }

    private static (ActivityTraceId TraceId, ActivitySpanId CallerSpan) NewTraceContext() => (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());

    private static async Task<string> PostTracedAsync(GatewayHost host, ActivityTraceId traceId, ActivitySpanId callerSpan)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = GatewayHost.Json(GatewayHost.Message()) };
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{callerSpan.ToHexString()}-01");
        var response = await host.Client.SendAsync(request);
        var body = await GatewayHost.ReadAsync(response);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        return body.GetProperty("id").GetString()!;
    }

    private async Task AssertDeliveryIsChildOfRequestAsync(string id, ActivityTraceId traceId, ActivitySpanId callerSpan)
    {
        // "delivered" is written before the job settles and its activity ends.
        await Poll.UntilAsync(() => _stopped.Any(a => IsDeliveryOf(id)(a)), () => $"no delivery activity for {id}");

        // The server's span of the POST: a child of the caller's span from the traceparent header.
        var requestSpan = Assert.Single(_stopped, a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == traceId);
        Assert.Equal(callerSpan, requestSpan.ParentSpanId);

        var delivery = Assert.Single(_stopped, IsDeliveryOf(id));
        Assert.Equal(traceId, delivery.TraceId);
        Assert.Equal(requestSpan.SpanId, delivery.ParentSpanId);

        // The SMTP attempt inside it belongs to the same trace.
        Assert.Contains(_stopped, a => a.Source.Name == DeliveryTelemetry.Name && a.OperationName == "smtp deliver" && a.ParentSpanId == delivery.SpanId);
    }

    private static Predicate<Activity> IsDeliveryOf(string id) =>
        a => a.Source.Name == DeliveryTelemetry.Name && a.OperationName == "deliver message" && (string?)a.GetTagItem("mailgateway.message_id") == id;
}
