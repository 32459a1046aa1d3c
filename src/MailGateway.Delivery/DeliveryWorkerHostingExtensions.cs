using System.Text.Json;
using MailGateway.AzureAdapters;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Options;

namespace MailGateway.Delivery;

/// <summary>Composition of the delivery worker host.</summary>
public static class DeliveryWorkerHostingExtensions
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(4);

    /// <summary>
    /// Blob and Table stores, the Service Bus processor, the SMTP engine, the host-agnostic job handler and the
    /// worker; the host's shutdown timeout is <c>MailGateway:DeliveryWorker:DrainTimeout</c>, so in-flight deliveries
    /// finish before the process exits.
    /// </summary>
    public static IHostApplicationBuilder AddDeliveryWorker(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddAzureMessageStores();
        builder.AddServiceBusDeliveryProcessor();
        builder.Services.AddSmtpDelivery();
        builder.Services.AddDeliveryJobHandler();
        builder.Services.AddOptions<HostOptions>()
            .Configure(host => host.ShutdownTimeout = DeliveryWorkerOptions.ReadDrainTimeout(builder.Configuration));
        builder.Services.AddSingleton<ServiceBusDeliveryWorker>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ServiceBusDeliveryWorker>());
        return builder;
    }

    /// <summary>
    /// <c>GET /healthz</c> (liveness: the process answers) and <c>GET /readyz</c> (readiness: the processor runs and the
    /// queue and both stores answer) for the Container Apps probes.
    /// </summary>
    public static IEndpointRouteBuilder MapDeliveryHealth(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/healthz", () => Results.Json(new Dictionary<string, string> { ["status"] = "alive" }));
        endpoints.MapGet("/readyz", async (HttpContext context, ServiceBusDeliveryWorker worker, IDeliveryQueue queue, IMessageStatusStore status, IMessageContentStore content) =>
        {
            var ct = context.RequestAborted;
            var checks = new Dictionary<string, bool>
            {
                ["processor"] = worker.IsProcessing,
                ["queue"] = await Probe(queue.IsReadyAsync, ct),
                ["statusStore"] = await Probe(status.IsReadyAsync, ct),
                ["contentStore"] = await Probe(content.IsReadyAsync, ct),
            };
            var ready = checks.Values.All(v => v);
            return Results.Json(
                new Dictionary<string, object> { ["status"] = ready ? "ready" : "not ready", ["checks"] = checks },
                JsonSerializerOptions.Web,
                statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        return endpoints;
    }

    private static async Task<bool> Probe(Func<CancellationToken, Task<bool>> probe, CancellationToken cancellationToken)
    {
        // The SDK clients retry for up to minutes; a probe must answer within the platform's probe timeout.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            return await probe(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return false;
        }
    }
}
