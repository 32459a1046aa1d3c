using System.Diagnostics.Metrics;
using MailGateway.Core.Inbound;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Bounces;

/// <summary>How a report to the bounce domain was applied.</summary>
public enum BounceRecordOutcome
{
    /// <summary>The recipient is now bounced (or the complaint recorded) and suppressed.</summary>
    Applied,

    /// <summary>The token is valid but no such message is stored (any more).</summary>
    UnknownMessage,

    /// <summary>The message has no recipient at the token's index.</summary>
    UnknownRecipient,
}

/// <summary>A report to the bounce domain, mapped to the message and recipient its signed token names.</summary>
/// <param name="MessageId">The message.</param>
/// <param name="RecipientIndex">The recipient's position in the message's envelope.</param>
/// <param name="Report">The report (failed DSN or complaint).</param>
/// <param name="ReceivedAt">When the listener received it.</param>
/// <param name="InboundId">The id of the stored report (its file or blob name).</param>
public sealed record BounceNotice(string MessageId, int RecipientIndex, BounceReport Report, DateTimeOffset ReceivedAt, string InboundId);

/// <summary>
/// Applies a bounce in one transaction: the recipient becomes <c>bounced</c> (with a <c>bounced</c> event) and its
/// address goes on the sending key's suppression list. The standalone host's SQLite store implements it.
/// </summary>
public interface IBounceRecorder
{
    /// <summary>Applies <paramref name="notice"/>.</summary>
    Task<BounceRecordOutcome> RecordAsync(BounceNotice notice, CancellationToken cancellationToken);
}

/// <summary>
/// Reads the messages the listener stored for the bounce domain: each recipient address must carry a token this
/// gateway signed (else <c>forged</c>), the body must be a report (RFC 3464 DSN or RFC 5965 ARF). Every outcome is
/// counted in <c>mailgateway.bounces</c> (tag <c>outcome</c>); the message stays stored whatever it is.
/// </summary>
public sealed partial class BounceProcessor
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "MailGateway.Bounces";

    /// <summary>The counter's name.</summary>
    public const string CounterName = "mailgateway.bounces";

    private readonly BounceAddresses _addresses;
    private readonly IBounceRecorder _recorder;
    private readonly ILogger<BounceProcessor> _logger;
    private readonly Counter<long> _counter;

    /// <summary>Creates the processor.</summary>
    public BounceProcessor(BounceAddresses addresses, IBounceRecorder recorder, IMeterFactory meters, IOptions<BounceOptions> options, ILogger<BounceProcessor> logger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(options);
        _addresses = addresses;
        _recorder = recorder;
        _logger = logger;
        MaxReportBytes = options.Value.MaxReportBytes;
        _counter = meters.Create(MeterName).CreateCounter<long>(CounterName, "{report}",
            "Messages to the bounce domain, by outcome: applied, forged, unmatched, not_failed, not_a_report, too_big, error.");
    }

    /// <summary>The largest report read (bigger ones are only stored).</summary>
    public int MaxReportBytes { get; }

    /// <summary>True when a message to <paramref name="recipients"/> is for the bounce domain.</summary>
    public bool Wants(IReadOnlyList<string> recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        return _addresses.Enabled && recipients.Any(_addresses.IsBounceDomain);
    }

    /// <summary>Processes a stored message; <paramref name="content"/> is null when it was bigger than <see cref="MaxReportBytes"/>. Never throws.</summary>
    public async Task ProcessAsync(InboundMessageMetadata metadata, ReadOnlyMemory<byte>? content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        try
        {
            // Read once, and only for a signed token: a forged bounce costs no MIME parsing.
            BounceReport? report = null;
            foreach (var recipient in metadata.Recipients.Where(_addresses.IsBounceDomain))
            {
                var outcome = await ProcessOneAsync(metadata, recipient, content, () => report ??= Read(content!.Value, cancellationToken), cancellationToken);
                _counter.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
                LogProcessed(metadata.Id, outcome);
            }
        }
        catch (Exception ex)
        {
            // The report is stored: a failure here loses only its processing, never the message (and never the 250).
            _counter.Add(1, new KeyValuePair<string, object?>("outcome", "error"));
            LogFailed(ex, metadata.Id);
        }
    }

    private static BounceReport Read(ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(content.ToArray(), writable: false);
        return BounceReport.Read(stream, cancellationToken);
    }

    private async Task<string> ProcessOneAsync(InboundMessageMetadata metadata, string recipient, ReadOnlyMemory<byte>? content, Func<BounceReport> read, CancellationToken cancellationToken)
    {
        if (_addresses.TryRead(recipient, out var messageId, out var index) != BounceAddressKind.Valid)
        {
            return "forged";
        }

        if (content is null)
        {
            return "too_big";
        }

        var report = read();
        switch (report.Kind)
        {
            case BounceReportKind.None:
                return "not_a_report";
            case BounceReportKind.NotFailed:
                return "not_failed";
        }

        var outcome = await _recorder.RecordAsync(new BounceNotice(messageId, index, report, metadata.ReceivedAt, metadata.Id), cancellationToken);
        return outcome == BounceRecordOutcome.Applied ? "applied" : "unmatched";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Report {InboundId} to the bounce domain: {Outcome}")]
    private partial void LogProcessed(string inboundId, string outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "Processing report {InboundId} to the bounce domain failed; it stays stored")]
    private partial void LogFailed(Exception exception, string inboundId);
}

/// <summary>
/// The inbound store of a host with bounce processing: stores every message with the inner store as before, keeps the
/// first <see cref="BounceProcessor.MaxReportBytes"/> bytes while they arrive, and after the commit hands a message
/// for the bounce domain to the <see cref="BounceProcessor"/>. The commit's answer does not depend on the processing.
/// </summary>
public sealed class BounceProcessingInboundStore(IInboundMessageStore inner, BounceProcessor processor) : IInboundMessageStore
{
    /// <inheritdoc />
    public async ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        new Writer(await inner.CreateWriterAsync(id, receivedAt, cancellationToken), processor);

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => inner.IsReadyAsync(cancellationToken);

    private sealed class Writer(IInboundMessageWriter inner, BounceProcessor processor) : IInboundMessageWriter
    {
        private readonly MemoryStream _copy = new();
        private bool _tooBig;

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            await inner.WriteAsync(data, cancellationToken);
            if (_tooBig)
            {
                return;
            }

            if (_copy.Length + data.Length > processor.MaxReportBytes)
            {
                _tooBig = true;
                _copy.SetLength(0);
                return;
            }

            _copy.Write(data.Span);
        }

        public async Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
        {
            var location = await inner.CommitAsync(metadata, cancellationToken);
            if (processor.Wants(metadata.Recipients))
            {
                // Typed: a bare null would become an empty Memory through the array conversion, not "too big".
                ReadOnlyMemory<byte>? content = null;
                if (!_tooBig)
                {
                    content = new ReadOnlyMemory<byte>(_copy.GetBuffer(), 0, (int)_copy.Length);
                }

                await processor.ProcessAsync(metadata, content, cancellationToken);
            }

            return location;
        }

        public void Dispose()
        {
            _copy.Dispose();
            inner.Dispose();
        }
    }
}
