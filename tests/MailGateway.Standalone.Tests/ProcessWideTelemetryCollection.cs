namespace MailGateway.Standalone.Tests;

/// <summary>
/// Tests that listen to activity sources process-wide (an <c>ActivityListener</c>, a tracer provider, the
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable) or assert that nothing listens: run alone, after the parallel
/// collections, so one class's listener never makes another's "no activity" check see an activity.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTelemetryCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Process-wide telemetry";
}
