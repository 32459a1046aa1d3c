using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Delivery;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Testing.AzureAdapters;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Bench;

/// <summary>
/// The Azure delivery worker's code path per message, on one machine: the Service Bus adapter's dispatcher
/// (<see cref="ServiceBusJobDispatcher.DispatchAsync"/>, what the worker's processor callback calls), the host-agnostic
/// <see cref="DeliveryJobHandler"/>, the SMTP engine, with the in-memory broker of the adapter tests behind the
/// adapter's seams (<see cref="InMemoryServiceBus"/>) in place of Service Bus. Phases, alternated in every round so the
/// ratios are same-run: the engine alone; the dispatcher with a handler that only completes (broker stand-in and
/// adapter); the full path with the status and content in memory; the full path on Azurite's Table and Blob
/// (the real adapters, <c>MAILGATEWAY_BENCH_AZURITE</c> = connection string); the Table status writes alone.
/// Prints msg/s, this process's CPU µs per message, Azurite's CPU per message (<c>MAILGATEWAY_BENCH_AZURITE_PID</c>)
/// and the storage requests per message.
/// </summary>
internal static class ServiceBusBenchmark
{
    private const string EnginePhase = "engine alone";
    private const string NoopPhase = "dispatcher + no-op handler (in-memory broker)";
    private const string MemoryPhase = "worker path, status + content in memory";
    private const string AzuritePhase = "worker path, Table + Blob on Azurite";
    private const string TablePhase = "Table status writes alone (Azurite)";

    public static async Task<int> RunAsync(string[] args)
    {
        var target = args[0].Split(':');
        var messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5000;
        var concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
        var azuriteMessages = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : Math.Max(1, messages / 5);
        var azurite = Environment.GetEnvironmentVariable("MAILGATEWAY_BENCH_AZURITE");
        var azuritePid = int.TryParse(Environment.GetEnvironmentVariable("MAILGATEWAY_BENCH_AZURITE_PID"), CultureInfo.InvariantCulture, out var pid) ? pid : (int?)null;

        await using var services = new ServiceCollection().AddMetrics().AddLogging()
            .AddOptions().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var engine = EngineBenchmark.CreateEngine(target[0], int.Parse(target[1], CultureInfo.InvariantCulture), concurrency, meters);
        var composed = EngineBenchmark.Compose(4);
        var bench = new Bench(engine, composed, concurrency, meters, azuritePid);

        // What one job weighs on the queue (Premium is sized in MB/s per messaging unit): the body and the application properties.
        var sample = DeliveryJobMessages.Create(new DeliveryJob
        {
            MessageId = "01JABCDEFGHJKMNPQRSTVWXYZ0",
            ContentReference = DateTimeOffset.UtcNow.ToString("yyyy/MM/dd", CultureInfo.InvariantCulture) + "/" + Guid.NewGuid().ToString("N") + ".eml",
            MailFrom = composed.Envelope.MailFrom,
            Recipients = composed.Envelope.Recipients,
            FirstSeen = DateTimeOffset.UtcNow,
            ExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        }, null);
        var propertyBytes = sample.ApplicationProperties.Sum(p => p.Key.Length + (p.Value?.ToString()?.Length ?? 0));
        Console.Error.WriteLine(FormattableString.Invariant(
            $"job message: body {sample.Body.ToMemory().Length} bytes, {sample.ApplicationProperties.Count} application properties (~{propertyBytes} bytes of keys and values), MessageId {sample.MessageId.Length} chars; one recipient"));

        Storage? storage = null;
        if (!string.IsNullOrEmpty(azurite))
        {
            storage = Storage.Create(azurite, Environment.GetEnvironmentVariable("MAILGATEWAY_BENCH_AZURITE_CERT"));
        }

        // Warm-up of every phase (JIT, pooled connections, tables and container created); not reported.
        await bench.EngineAsync(200);
        await bench.NoopAsync(200);
        await bench.HandlerAsync(new MemoryStatusStore(TimeProvider.System), new MemoryContentStore(), 200, "warm");
        if (storage is not null)
        {
            await bench.HandlerAsync(storage.Status, storage.Content, 100, "warm");
            await bench.TableAloneAsync(storage, 100, "warm");
        }

        var results = new List<(int Round, Measurement M)>();
        for (var round = 1; round <= rounds; round++)
        {
            var prefix = "r" + round.ToString(CultureInfo.InvariantCulture);
            results.Add((round, await bench.MeasureAsync(EnginePhase, messages, null, () => bench.EngineAsync(messages))));
            results.Add((round, await bench.MeasureAsync(NoopPhase, messages, null, () => bench.NoopAsync(messages))));
            var memoryStatus = new MemoryStatusStore(TimeProvider.System);
            var memoryContent = new MemoryContentStore();
            var seeded = await bench.SeedAsync(memoryStatus, memoryContent, messages, prefix);
            results.Add((round, await bench.MeasureAsync(MemoryPhase, messages, null, () => bench.DrainAsync(seeded, bench.Handler(memoryStatus, memoryContent)))));
            var delivered = memoryStatus.Count(MessageState.Delivered);
            if (delivered != messages)
            {
                Console.Error.WriteLine(FormattableString.Invariant($"round {round}: {delivered} of {messages} recorded delivered"));
                return 1;
            }

            if (storage is not null)
            {
                var onAzurite = await bench.SeedAsync(storage.Status, storage.Content, azuriteMessages, prefix + "az");
                results.Add((round, await bench.MeasureAsync(AzuritePhase, azuriteMessages, storage, () => bench.DrainAsync(onAzurite, bench.Handler(storage.Status, storage.Content)))));
                var ids = await bench.SeedStatusAsync(storage.Status, azuriteMessages, prefix + "tb");
                results.Add((round, await bench.MeasureAsync(TablePhase, azuriteMessages, storage, () => bench.TableAloneAsync(storage, ids))));
            }

            foreach (var (_, m) in results.Where(r => r.Round == round))
            {
                Console.Error.WriteLine(m.Line(round));
            }
        }

        PrintSummary(results, messages, azuriteMessages, concurrency, rounds);
        return results.All(r => r.M.Failures == 0) ? 0 : 1;
    }

    private static void PrintSummary(List<(int Round, Measurement M)> results, int messages, int azuriteMessages, int concurrency, int rounds)
    {
        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        }

        Console.WriteLine();
        Console.WriteLine(FormattableString.Invariant(
            $"| 4 KB to smtp-sink, {concurrency} in flight, median of {rounds} rounds ({messages} messages; Azurite rows {azuriteMessages}) | msg/s | CPU µs/msg (this process) | Azurite CPU µs/msg | Table / Blob requests per msg | msg/s ÷ engine (same round) | CPU/msg ÷ engine (same round) | load (1 min) |"));
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var phase in results.Select(r => r.M.Phase).Distinct())
        {
            var rows = results.Where(r => r.M.Phase == phase).ToList();
            var rateRatios = rows.Select(r => r.M.Rate / results.Single(e => e.Round == r.Round && e.M.Phase == EnginePhase).M.Rate);
            var cpuRatios = rows.Select(r => r.M.CpuPerMessage / results.Single(e => e.Round == r.Round && e.M.Phase == EnginePhase).M.CpuPerMessage);
            var azuriteCpu = rows.All(r => r.M.AzuriteCpuPerMessage is null) ? "—" : Median(rows.Select(r => r.M.AzuriteCpuPerMessage ?? double.NaN)).ToString("F0", CultureInfo.InvariantCulture);
            var requests = rows.All(r => r.M.TablePerMessage is null)
                ? "—"
                : FormattableString.Invariant($"{Median(rows.Select(r => r.M.TablePerMessage ?? 0)):F2} / {Median(rows.Select(r => r.M.BlobPerMessage ?? 0)):F2}");
            var loads = string.Join(", ", rows.Select(r => r.M.Load.ToString("F1", CultureInfo.InvariantCulture)));
            Console.WriteLine(FormattableString.Invariant(
                $"| {phase} | {Median(rows.Select(r => r.M.Rate)):F0} | {Median(rows.Select(r => r.M.CpuPerMessage)):F0} | {azuriteCpu} | {requests} | {Median(rateRatios):F2} | {Median(cpuRatios):F2} | {loads} |"));
        }
    }

    private sealed record Measurement(string Phase, int Messages, double Seconds, double CpuMicroseconds, double? AzuriteCpuMicroseconds, long? TableRequests, long? BlobRequests, int Failures, double Load)
    {
        public double Rate => Messages / Seconds;

        public double CpuPerMessage => CpuMicroseconds / Messages;

        public double? AzuriteCpuPerMessage => AzuriteCpuMicroseconds / Messages;

        public double? TablePerMessage => TableRequests / (double)Messages;

        public double? BlobPerMessage => BlobRequests / (double)Messages;

        public string Line(int round) => FormattableString.Invariant(
            $"round {round} | {Phase}: {Messages} in {Seconds:F2} s = {Rate:F0} msg/s, CPU {CpuPerMessage:F0} µs/msg, Azurite CPU {(AzuriteCpuPerMessage is { } a ? a.ToString("F0", CultureInfo.InvariantCulture) : "—")} µs/msg, Table {TablePerMessage:F2} / Blob {BlobPerMessage:F2} req/msg, {Failures} failed, load {Load:F1}");
    }

    /// <summary>The Azurite stores with a request counter on each client (every HTTP request the SDK sends, retries included).</summary>
    private sealed class Storage
    {
        public required TableMessageStatusStore Status { get; init; }

        public required BlobMessageContentStore Content { get; init; }

        public required RequestCounter TableRequests { get; init; }

        public required RequestCounter BlobRequests { get; init; }

        /// <summary>
        /// The stores on <paramref name="connectionString"/>; with <paramref name="certificatePath"/> (Azurite on HTTPS with a
        /// certificate the script generated) the clients trust exactly that certificate, nothing else.
        /// </summary>
        public static Storage Create(string connectionString, string? certificatePath)
        {
            var options = new AzureStorageOptions
            {
                ConnectionString = connectionString,
                ContentContainer = "bench-" + Guid.NewGuid().ToString("N")[..12],
                StatusTable = "benchstatus" + Guid.NewGuid().ToString("N")[..12],
                IdempotencyTable = "benchidem" + Guid.NewGuid().ToString("N")[..12],
            };
            var table = new RequestCounter();
            var blob = new RequestCounter();
            var tableOptions = new TableClientOptions();
            tableOptions.AddPolicy(table, HttpPipelinePosition.PerRetry);
            var blobOptions = new BlobClientOptions();
            blobOptions.AddPolicy(blob, HttpPipelinePosition.PerRetry);
            if (!string.IsNullOrEmpty(certificatePath))
            {
                var pinned = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
                tableOptions.Transport = PinnedTransport(pinned);
                blobOptions.Transport = PinnedTransport(pinned);
            }
            return new Storage
            {
                Status = new TableMessageStatusStore(new TableServiceClient(connectionString, tableOptions), Options.Create(options), TimeProvider.System, NullLogger<TableMessageStatusStore>.Instance),
                Content = new BlobMessageContentStore(new BlobServiceClient(connectionString, blobOptions), Options.Create(options), TimeProvider.System),
                TableRequests = table,
                BlobRequests = blob,
            };
        }
    }

    // One handler per client, as the SDK's default transport has: pooled connections, the server certificate pinned.
    private static HttpClientTransport PinnedTransport(X509Certificate2 pinned) =>
        new(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData),
            },
        });

    private sealed class RequestCounter : HttpPipelineSynchronousPolicy
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _count);
    }

    private sealed class Bench(SmtpDeliveryEngine engine, ComposedMessage composed, int concurrency, IMeterFactory meters, int? azuritePid)
    {
        private readonly IOptionsMonitor<DeliveryRetryOptions> _retry = new StaticMonitor<DeliveryRetryOptions>(new DeliveryRetryOptions());
        private readonly IOptions<DeliveryWorkerOptions> _worker = Options.Create(new DeliveryWorkerOptions { Concurrency = concurrency });

        public async Task<Measurement> MeasureAsync(string phase, int messages, Storage? storage, Func<Task<int>> run)
        {
            var load = double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
            var tables = storage?.TableRequests.Count;
            var blobs = storage?.BlobRequests.Count;
            var azurite = storage is null ? null : AzuriteCpu();
            var cpu = Environment.CpuUsage.TotalTime;
            var stopwatch = Stopwatch.StartNew();
            var failures = await run();
            stopwatch.Stop();
            var cpuUsed = (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds;
            var azuriteUsed = azurite is { } before && AzuriteCpu() is { } after ? (after - before).TotalMicroseconds : (double?)null;
            return new Measurement(phase, messages, stopwatch.Elapsed.TotalSeconds, cpuUsed, azuriteUsed,
                storage?.TableRequests.Count - tables, storage?.BlobRequests.Count - blobs, failures, load);
        }

        /// <summary>The engine alone, as <c>engine</c> mode: the stored bytes, <c>concurrency</c> deliveries at a time.</summary>
        public async Task<int> EngineAsync(int messages)
        {
            var next = -1;
            var failures = 0;
            async Task Loop()
            {
                while (Interlocked.Increment(ref next) < messages)
                {
                    var outcome = await engine.DeliverAsync(new DeliveryRequest("bench", composed.Bytes, composed.Envelope), CancellationToken.None);
                    if (outcome.Kind != DeliveryOutcomeKind.Delivered)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }

            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Loop)));
            return failures;
        }

        /// <summary>Broker stand-in and adapter only: every job read and completed by a handler that does nothing else.</summary>
        public Task<int> NoopAsync(int messages)
        {
            var now = DateTimeOffset.UtcNow;
            var jobs = Enumerable.Range(0, messages).Select(i => DeliveryJobMessages.Create(Job("noop-" + Guid.NewGuid().ToString("N"), "x.eml", now), null)).ToArray();
            return DrainAsync(jobs, new DelegateHandler((context, ct) => context.CompleteAsync(ct)));
        }

        public DeliveryJobHandler Handler(IMessageStatusStore status, IMessageContentStore content) =>
            new(content, status, engine, _retry, _worker, TimeProvider.System, NullLogger<DeliveryJobHandler>.Instance);

        public async Task<int> HandlerAsync(IMessageStatusStore status, IMessageContentStore content, int messages, string prefix) =>
            await DrainAsync(await SeedAsync(status, content, messages, prefix + Guid.NewGuid().ToString("N")[..6]), Handler(status, content));

        /// <summary>What the API leaves behind for each message (content, a queued status record) and the job it enqueues.</summary>
        public async Task<ServiceBusMessage[]> SeedAsync(IMessageStatusStore status, IMessageContentStore content, int messages, string prefix)
        {
            var jobs = new ServiceBusMessage[messages];
            var now = DateTimeOffset.UtcNow;
            await Parallel.ForAsync(0, messages, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
            {
                var id = MessageId(prefix, i);
                var reference = await content.SaveAsync(id, composed.Bytes, ct);
                await status.CreateAsync(Record(id, reference, now), null, ct);
                jobs[i] = DeliveryJobMessages.Create(Job(id, reference, now), null);
            });
            return jobs;
        }

        public async Task<string[]> SeedStatusAsync(IMessageStatusStore status, int messages, string prefix)
        {
            var ids = new string[messages];
            var now = DateTimeOffset.UtcNow;
            await Parallel.ForAsync(0, messages, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
            {
                ids[i] = MessageId(prefix, i);
                await status.CreateAsync(Record(ids[i], "x.eml", now), null, ct);
            });
            return ids;
        }

        public async Task<int> TableAloneAsync(Storage storage, int messages, string prefix) =>
            await TableAloneAsync(storage, await SeedStatusAsync(storage.Status, messages, prefix + Guid.NewGuid().ToString("N")[..6]));

        /// <summary>The status writes of one delivered message, as the handler makes them: to sending, then the attempt and delivered.</summary>
        public async Task<int> TableAloneAsync(Storage storage, string[] ids)
        {
            var failures = 0;
            var now = DateTimeOffset.UtcNow;
            IReadOnlyList<RecipientResult> recipients = [new RecipientResult("sink@example.test", RecipientState.Delivered, null)];
            await Parallel.ForAsync(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
            {
                var before = await storage.Status.TryBeginSendingAsync(ids[i], ct);
                if (before is null)
                {
                    Interlocked.Increment(ref failures);
                    return;
                }

                var attempt = new DeliveryAttemptRecord(1, now, TimeSpan.FromMilliseconds(1), DeliveryOutcomeKind.Delivered, 25, null, "250 2.0.0 Ok: queued");
                await storage.Status.RecordAttemptAsync(ids[i], attempt, MessageState.Delivered, recipients, null, "250 2.0.0 Ok: queued", ct);
            });
            return failures;
        }

        /// <summary>
        /// Runs <paramref name="jobs"/> through the in-memory broker and the worker's dispatcher, <c>concurrency</c> at a
        /// time: each loop sends the next job (a producer keeping the queue a few deep, as a busy queue looks to one
        /// receiver), receives one and dispatches it as the processor callback does. Counts what was not completed.
        /// </summary>
        public async Task<int> DrainAsync(ServiceBusMessage[] jobs, IDeliveryJobHandler handler)
        {
            var bus = new InMemoryServiceBus(new FakeTimeProvider(DateTimeOffset.UtcNow));
            var dispatcher = new ServiceBusJobDispatcher(handler, bus, NullLogger<ServiceBusJobDispatcher>.Instance, meters);
            var prefill = Math.Min(concurrency, jobs.Length);
            for (var i = 0; i < prefill; i++)
            {
                await bus.SendAsync(jobs[i], CancellationToken.None);
            }

            var fed = prefill - 1;
            var failures = 0;
            var handled = 0;
            async Task Loop()
            {
                while (true)
                {
                    var i = Interlocked.Increment(ref fed);
                    if (i < jobs.Length)
                    {
                        await bus.SendAsync(jobs[i], CancellationToken.None);
                    }

                    // Null only once every job is fed and the rest are locked by the other loops.
                    if (bus.Receive() is not { } args)
                    {
                        return;
                    }

                    var settlement = await dispatcher.DispatchAsync(args, CancellationToken.None);
                    Interlocked.Increment(ref handled);
                    if (settlement != SettlementKind.Completed)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }

            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Loop)));
            return failures + (jobs.Length - handled);
        }

        private TimeSpan? AzuriteCpu()
        {
            if (azuritePid is not { } id)
            {
                return null;
            }

            // /proc/PID/stat: utime and stime (fields 14 and 15) in clock ticks (USER_HZ, 100 on Linux).
            var stat = File.ReadAllText($"/proc/{id.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromMilliseconds(ticks * 10);
        }

        private static string MessageId(string prefix, int i) => prefix + "-" + i.ToString("D7", CultureInfo.InvariantCulture);

        private DeliveryJob Job(string id, string reference, DateTimeOffset now) => new()
        {
            MessageId = id,
            ContentReference = reference,
            MailFrom = composed.Envelope.MailFrom,
            Recipients = composed.Envelope.Recipients,
            FirstSeen = now,
            ExpiresAt = now.AddDays(1),
        };

        private MessageRecord Record(string id, string reference, DateTimeOffset now) => new()
        {
            Id = id,
            Owner = "bench",
            State = MessageState.Queued,
            CreatedAt = now,
            UpdatedAt = now,
            ContentReference = reference,
            Envelope = composed.Envelope,
        };
    }

    private sealed class StaticMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
