using MailGateway.Listener.Storage;
using Microsoft.Extensions.Logging;

namespace MailGateway.Listener.Smtp;

/// <summary>What every session of one listener shares.</summary>
internal sealed class ListenerContext(
    InboundListenerOptions options, IInboundMessageStore store, TimeProvider timeProvider, ILogger logger, InboundMetrics metrics, ConnectionLimiter limiter, bool submission = false)
{
    /// <summary>The submission role (authenticated clients, API keys, the accept port) rather than inbound.</summary>
    public bool IsSubmission { get; } = submission;

    public InboundListenerOptions Options { get; } = options;

    public IInboundMessageStore Store { get; } = store;

    public TimeProvider TimeProvider { get; } = timeProvider;

    public ILogger Logger { get; } = logger;

    public InboundMetrics Metrics { get; } = metrics;

    public ConnectionLimiter Limiter { get; } = limiter;

    public HashSet<string> Domains { get; } = new(options.Domains.Select(d => d.Trim().TrimEnd('.')), StringComparer.OrdinalIgnoreCase);
}
