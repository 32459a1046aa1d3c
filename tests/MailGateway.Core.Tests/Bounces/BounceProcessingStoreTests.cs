using MailGateway.Core.Bounces;
using MailGateway.Core.Inbound;
using MailGateway.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;

namespace MailGateway.Core.Tests.Bounces;

/// <summary>The inbound store decorator: stores as the inner store does, then hands reports for the bounce domain to the processor.</summary>
public sealed class BounceProcessingStoreTests
{
    private sealed class Recorder : IBounceRecorder
    {
        public List<BounceNotice> Notices { get; } = [];

        public Task<BounceRecordOutcome> RecordAsync(BounceNotice notice, CancellationToken cancellationToken)
        {
            Notices.Add(notice);
            return Task.FromResult(BounceRecordOutcome.Applied);
        }
    }

    private sealed class MemoryStore : IInboundMessageStore
    {
        public List<byte[]> Stored { get; } = [];

        public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IInboundMessageWriter>(new Writer(this));

        public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

        private sealed class Writer(MemoryStore store) : IInboundMessageWriter
        {
            private readonly MemoryStream _data = new();

            public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
            {
                _data.Write(data.Span);
                return ValueTask.CompletedTask;
            }

            public Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
            {
                store.Stored.Add(_data.ToArray());
                return Task.FromResult(metadata.Id);
            }

            public void Dispose() => _data.Dispose();
        }
    }

    private static readonly BounceOptions Options = new() { Domain = "bounces.example.com", Secret = new string('s', 32), MaxReportBytes = 4096 };

    private static MimeMessage Dsn(string to, int humanPartLength)
    {
        var status = new MessageDeliveryStatus();
        status.StatusGroups.Add(new HeaderList { { "Reporting-MTA", "dns; relay.test" } });
        status.StatusGroups.Add(new HeaderList { { "Final-Recipient", "rfc822; bob@example.net" }, { "Action", "failed" }, { "Status", "5.1.1" } });
        return new MimeMessage([MailboxAddress.Parse("MAILER-DAEMON@relay.test")], [MailboxAddress.Parse(to)], "bounce",
            new MultipartReport("delivery-status") { new TextPart("plain") { Text = new string('x', humanPartLength) }, status });
    }

    private static async Task<(List<string?> Outcomes, Recorder Recorder, MemoryStore Inner)> StoreAsync(MimeMessage message, string to, int chunk)
    {
        using var meters = new TestMeterFactory();
        var addresses = new BounceAddresses(Microsoft.Extensions.Options.Options.Create(Options));
        var recorder = new Recorder();
        var processor = new BounceProcessor(addresses, recorder, meters, Microsoft.Extensions.Options.Options.Create(Options), NullLogger<BounceProcessor>.Instance);
        using var collector = new MetricCollector<long>(meters, BounceProcessor.MeterName, BounceProcessor.CounterName);
        var inner = new MemoryStore();
        var store = new BounceProcessingInboundStore(inner, processor);
        using var bytes = new MemoryStream();
        await message.WriteToAsync(bytes);
        var data = bytes.ToArray();
        using (var writer = await store.CreateWriterAsync("in1", DateTimeOffset.UnixEpoch, CancellationToken.None))
        {
            for (var i = 0; i < data.Length; i += chunk)
            {
                await writer.WriteAsync(data.AsMemory(i, Math.Min(chunk, data.Length - i)), CancellationToken.None);
            }

            await writer.CommitAsync(new InboundMessageMetadata
            {
                Id = "in1", ReceivedAt = DateTimeOffset.UnixEpoch, MailFrom = "", Recipients = [to], ClientIp = "127.0.0.1", ClientHelo = "relay.test",
                Tls = false, Size = data.Length, Sha256 = "",
            }, CancellationToken.None);
        }

        Assert.Equal(data, Assert.Single(inner.Stored));
        return ([.. collector.GetMeasurementSnapshot().Select(m => (string?)m.Tags["outcome"])], recorder, inner);
    }

    [Fact]
    public async Task A_signed_DSN_within_the_limit_is_applied_in_any_chunking()
    {
        var to = new BounceAddresses(Microsoft.Extensions.Options.Options.Create(Options)).For("0123456789abcdef0123456789abcdef", 3)!;
        foreach (var chunk in new[] { 1, 7, 4096 })
        {
            var (outcomes, recorder, _) = await StoreAsync(Dsn(to, 100), to, chunk);
            Assert.Equal(["applied"], outcomes);
            var notice = Assert.Single(recorder.Notices);
            Assert.Equal(("0123456789abcdef0123456789abcdef", 3, "5.1.1"), (notice.MessageId, notice.RecipientIndex, notice.Report.Status));
        }
    }

    [Fact]
    public async Task A_report_over_the_limit_is_stored_and_counted_too_big_and_a_forged_one_is_never_parsed()
    {
        var to = new BounceAddresses(Microsoft.Extensions.Options.Options.Create(Options)).For("0123456789abcdef0123456789abcdef", 0)!;
        var (big, bigRecorder, _) = await StoreAsync(Dsn(to, 8000), to, 1000);
        Assert.Equal(["too_big"], big);
        Assert.Empty(bigRecorder.Notices);

        var (forged, forgedRecorder, _) = await StoreAsync(Dsn("bounces+nope@bounces.example.com", 100), "bounces+nope@bounces.example.com", 512);
        Assert.Equal(["forged"], forged);
        Assert.Empty(forgedRecorder.Notices);

        var (other, _, _) = await StoreAsync(Dsn("someone@example.net", 100), "someone@example.net", 512);
        Assert.Empty(other);
    }

    private sealed class FailingRecorder(Exception failure) : IBounceRecorder
    {
        public Task<BounceRecordOutcome> RecordAsync(BounceNotice notice, CancellationToken cancellationToken) => Task.FromException<BounceRecordOutcome>(failure);
    }

    [Fact]
    public async Task An_unavailable_recorder_fails_the_commit_after_the_message_is_stored_and_any_other_failure_does_not()
    {
        var to = new BounceAddresses(Microsoft.Extensions.Options.Options.Create(Options)).For("0123456789abcdef0123456789abcdef", 0)!;
        using var bytes = new MemoryStream();
        await Dsn(to, 100).WriteToAsync(bytes);
        var data = bytes.ToArray();
        var metadata = new InboundMessageMetadata
        {
            Id = "in1", ReceivedAt = DateTimeOffset.UnixEpoch, MailFrom = "", Recipients = [to], ClientIp = "127.0.0.1", ClientHelo = "relay.test",
            Tls = false, Size = data.Length, Sha256 = "",
        };

        foreach (var (failure, throws, outcome) in new (Exception, bool, string)[]
                 {
                     (new BounceRecorderUnavailableException("Table storage is down."), true, "deferred"),
                     (new InvalidOperationException("A bug."), false, "error"),
                 })
        {
            using var meters = new TestMeterFactory();
            using var collector = new MetricCollector<long>(meters, BounceProcessor.MeterName, BounceProcessor.CounterName);
            var processor = new BounceProcessor(new BounceAddresses(Microsoft.Extensions.Options.Options.Create(Options)), new FailingRecorder(failure), meters,
                Microsoft.Extensions.Options.Options.Create(Options), NullLogger<BounceProcessor>.Instance);
            var inner = new MemoryStore();
            using var writer = await new BounceProcessingInboundStore(inner, processor).CreateWriterAsync("in1", DateTimeOffset.UnixEpoch, CancellationToken.None);
            await writer.WriteAsync(data, CancellationToken.None);
            if (throws)
            {
                Assert.Same(failure, await Assert.ThrowsAsync<BounceRecorderUnavailableException>(() => writer.CommitAsync(metadata, CancellationToken.None)));
            }
            else
            {
                Assert.Equal("in1", await writer.CommitAsync(metadata, CancellationToken.None));
            }

            // Stored before the processing either way: nothing is lost.
            Assert.Equal(data, Assert.Single(inner.Stored));
            Assert.Equal([outcome], collector.GetMeasurementSnapshot().Select(m => (string?)m.Tags["outcome"]));
        }
    }
}
