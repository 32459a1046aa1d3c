using MailGateway.Core.Inbound;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MailGateway.ServiceDefaults.Health;

/// <summary>
/// A readiness check that calls one port's probe. Bounded by <see cref="HealthOptions.ProbeTimeout"/> (the health
/// service cancels it); an exception or a cancellation is "unavailable", never an error page.
/// </summary>
public abstract class ProbeHealthCheck : IHealthCheck
{
    /// <summary>The port's readiness probe.</summary>
    protected abstract Task<bool> ProbeAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await ProbeAsync(cancellationToken) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The probe answered not ready.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("The probe failed.", ex);
        }
    }
}

/// <summary>Readiness of the delivery queue (<see cref="IDeliveryQueue.IsReadyAsync"/>), check <c>queue</c>.</summary>
public sealed class DeliveryQueueHealthCheck(IDeliveryQueue queue) : ProbeHealthCheck
{
    /// <inheritdoc />
    protected override Task<bool> ProbeAsync(CancellationToken cancellationToken) => queue.IsReadyAsync(cancellationToken);
}

/// <summary>Readiness of the status store (<see cref="IMessageStatusStore.IsReadyAsync"/>), check <c>statusStore</c>.</summary>
public sealed class StatusStoreHealthCheck(IMessageStatusStore store) : ProbeHealthCheck
{
    /// <inheritdoc />
    protected override Task<bool> ProbeAsync(CancellationToken cancellationToken) => store.IsReadyAsync(cancellationToken);
}

/// <summary>Readiness of the content store (<see cref="IMessageContentStore.IsReadyAsync"/>), check <c>contentStore</c>.</summary>
public sealed class ContentStoreHealthCheck(IMessageContentStore store) : ProbeHealthCheck
{
    /// <inheritdoc />
    protected override Task<bool> ProbeAsync(CancellationToken cancellationToken) => store.IsReadyAsync(cancellationToken);
}

/// <summary>Readiness of the inbound store (<see cref="IInboundMessageStore.IsReadyAsync"/>), check <c>inboundStore</c>.</summary>
public sealed class InboundStoreHealthCheck(IInboundMessageStore store) : ProbeHealthCheck
{
    /// <inheritdoc />
    protected override Task<bool> ProbeAsync(CancellationToken cancellationToken) => store.IsReadyAsync(cancellationToken);
}

/// <summary>Registration of the readiness checks: one per port, each tagged <see cref="ReadinessTag"/>.</summary>
public static class ReadinessCheckExtensions
{
    /// <summary>The tag of the checks <c>/readyz</c> runs; <c>/healthz</c> runs none.</summary>
    public const string ReadinessTag = "ready";

    /// <summary>The outbound ports: <c>queue</c>, <c>statusStore</c>, <c>contentStore</c> (the API hosts and the delivery worker).</summary>
    public static IHealthChecksBuilder AddMessagePortChecks(this IHealthChecksBuilder builder) =>
        builder.AddReadinessCheck<DeliveryQueueHealthCheck>("queue")
            .AddReadinessCheck<StatusStoreHealthCheck>("statusStore")
            .AddReadinessCheck<ContentStoreHealthCheck>("contentStore");

    /// <summary>The inbound store: <c>inboundStore</c> (hosts that run the inbound listener).</summary>
    public static IHealthChecksBuilder AddInboundStoreCheck(this IHealthChecksBuilder builder) =>
        builder.AddReadinessCheck<InboundStoreHealthCheck>("inboundStore");

    /// <summary>A readiness check of the host's own (e.g. <c>processor</c>, <c>listener</c>), with the probe timeout.</summary>
    public static IHealthChecksBuilder AddReadinessCheck<T>(this IHealthChecksBuilder builder, string name)
        where T : class, IHealthCheck
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<T>();
        return builder.Add(new HealthCheckRegistration(name, sp => sp.GetRequiredService<T>(), HealthStatus.Unhealthy, [ReadinessTag]));
    }
}
