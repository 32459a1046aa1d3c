using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.ServiceDefaults.Telemetry;

/// <summary>What the delivery queue holds now.</summary>
/// <param name="Jobs">Jobs in the queue: ready, leased and scheduled.</param>
/// <param name="OldestReady">How long the oldest job that is due and not leased has waited; zero when none waits.</param>
public readonly record struct QueueDepth(long Jobs, TimeSpan OldestReady);

/// <summary>Reads the queue's depth (one cheap query; a host whose queue can tell registers one).</summary>
public interface IQueueDepthProbe
{
    /// <summary>The depth now.</summary>
    Task<QueueDepth> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Queue depth as observable metrics (meter <c>MailGateway.Queue</c>): <c>mailgateway.queue.depth</c> and
/// <c>mailgateway.queue.oldest_job_age</c> (s). The probe runs in the background every
/// <see cref="TelemetryOptions.QueueSampleInterval"/>, never inside a metrics collection, and only when telemetry is collected.
/// </summary>
public static partial class QueueDepthMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "MailGateway.Queue";

    /// <summary>Registers the sampler and the gauges for <typeparamref name="TProbe"/>, when telemetry is enabled.</summary>
    public static IHostApplicationBuilder AddQueueDepthMetrics<TProbe>(this IHostApplicationBuilder builder)
        where TProbe : class, IQueueDepthProbe
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!GatewayTelemetry.IsRegistered(builder.Services))
        {
            return builder;
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IQueueDepthProbe, TProbe>();
        builder.Services.AddHostedService<Sampler>();
        return builder;
    }

    private sealed partial class Sampler(IQueueDepthProbe probe, IMeterFactory meters, IOptions<TelemetryOptions> options, TimeProvider time, ILogger<Sampler> logger) : BackgroundService
    {
        private long _jobs;
        private double _oldestSeconds;

        public override Task StartAsync(CancellationToken cancellationToken)
        {
            var meter = meters.Create(MeterName);
            meter.CreateObservableGauge("mailgateway.queue.depth", () => Volatile.Read(ref _jobs), "{job}", "Jobs in the delivery queue (ready, leased and scheduled).");
            meter.CreateObservableGauge("mailgateway.queue.oldest_job_age", () => Volatile.Read(ref _oldestSeconds), "s", "How long the oldest due, unleased job has waited (0 when none).");
            return base.StartAsync(cancellationToken);
        }

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(options.Value.QueueSampleInterval, time);
            do
            {
                try
                {
                    var depth = await probe.ReadAsync(stoppingToken);
                    Volatile.Write(ref _jobs, depth.Jobs);
                    Volatile.Write(ref _oldestSeconds, depth.OldestReady.TotalSeconds);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Last values stay; the readiness check reports an unavailable queue.
                    LogSampleFailed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the queue depth failed")]
        private partial void LogSampleFailed(Exception exception);
    }
}
