using System.Diagnostics.Metrics;
using System.Globalization;
using MailGateway.Core.Delivery;
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
public sealed record BounceNotice(string MessageId, int RecipientIndex, BounceReport Report, DateTimeOffset ReceivedAt, string InboundId)
{
    /// <summary>True for an abuse report (a suppression entry only: no status change, no event).</summary>
    public bool IsComplaint => Report.Kind == BounceReportKind.Complaint;

    /// <summary>The suppression entry's reason: <c>complaint</c> or <c>bounce</c>.</summary>
    public string SuppressionReason => IsComplaint ? Suppressions.SuppressionReasons.Complaint : Suppressions.SuppressionReasons.Bounce;

    /// <summary>The suppression entry's detail: the diagnostic (or the feedback type) and the stored report's id.</summary>
    public string SuppressionDetail => IsComplaint
        ? $"Complaint ({Report.Status}), report {InboundId}"
        : $"{Report.Diagnostic ?? Report.Status} (DSN {InboundId})";

    /// <summary>The DSN's diagnostic as an SMTP reply (<c>550 5.1.1 …</c>), else 550 with the DSN's status: the recipient's new reply.</summary>
    public SmtpReply Reply()
    {
        var text = Report.Diagnostic ?? "";
        if (text.Length >= 3 && int.TryParse(text.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 500 and < 600)
        {
            var rest = text[3..].Trim();
            var space = rest.IndexOf(' ', StringComparison.Ordinal);
            var first = space < 0 ? rest : rest[..space];
            return first.Length > 0 && first[0] == '5' && first.Count(c => c == '.') == 2
                ? new SmtpReply(code, first, space < 0 ? "" : rest[(space + 1)..])
                : new SmtpReply(code, Report.Status, rest);
        }

        return new SmtpReply(550, Report.Status, text.Length > 0 ? text : "Reported failed by a delivery status notification.");
    }
}

/// <summary>
/// Thrown by an <see cref="IBounceRecorder"/> whose store is unreachable (a transient failure: the Table service down
/// or throttling). The <see cref="BounceProcessor"/> lets it through, so the listener answers 451 4.3.0 after the report
/// was stored and the reporting MTA sends it again later; any other failure is only logged and counted.
/// </summary>
public sealed class BounceRecorderUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BounceRecorderUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public BounceRecorderUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the store's failure.</summary>
    public BounceRecorderUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

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
            "Messages to the bounce domain, by outcome: applied, forged, unmatched, not_failed, not_a_report, too_big, deferred, error.");
    }

    /// <summary>The largest report read (bigger ones are only stored).</summary>
    public int MaxReportBytes { get; }

    /// <summary>True when a message to <paramref name="recipients"/> is for the bounce domain.</summary>
    public bool Wants(IReadOnlyList<string> recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        return _addresses.Enabled && recipients.Any(_addresses.IsBounceDomain);
    }

    /// <summary>
    /// Processes a stored message; <paramref name="content"/> is null when it was bigger than <see cref="MaxReportBytes"/>.
    /// Throws only <see cref="BounceRecorderUnavailableException"/> (the recorder's store is down: answer 451) and the
    /// <see cref="OperationCanceledException"/> of <paramref name="cancellationToken"/>.
    /// </summary>
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
        catch (BounceRecorderUnavailableException ex)
        {
            // The report is stored, and its processing must not be lost either: the store is down, so the caller
            // answers 451 and the reporting MTA delivers it again (recorders apply a report twice as once).
            _counter.Add(1, new KeyValuePair<string, object?>("outcome", "deferred"));
            LogDeferred(ex, metadata.Id);
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The listener's store timeout (or its shutdown): it answers 451, the report comes again.
            _counter.Add(1, new KeyValuePair<string, object?>("outcome", "deferred"));
            throw;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Report {InboundId} to the bounce domain is stored, but its store of statuses is unavailable; answering 451 so it is sent again")]
    private partial void LogDeferred(Exception exception, string inboundId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Processing report {InboundId} to the bounce domain failed; it stays stored")]
    private partial void LogFailed(Exception exception, string inboundId);
}

/// <summary>
/// The inbound store of a host with bounce processing: stores every message with the inner store as before, keeps the
/// first <see cref="BounceProcessor.MaxReportBytes"/> bytes while they arrive, and after the commit hands a message
/// for the bounce domain to the <see cref="BounceProcessor"/>. The commit's answer does not depend on the processing,
/// except when the recorder's store is unavailable: then the commit (already done) throws, the listener answers 451.
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
