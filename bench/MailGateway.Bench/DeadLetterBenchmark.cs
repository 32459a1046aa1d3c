using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Testing.AzureAdapters;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Bench;

/// <summary>
/// The Azure host's dead-letter store (<see cref="ServiceBusDeadLetterStore"/>) on a full sub-queue: the in-memory
/// broker's dead-letter sub-queue behind the adapter's seam (no Service Bus latency: what the store's own scan, owner
/// lookups and locking cost), the status records on Azurite's Table storage (<c>MAILGATEWAY_BENCH_AZURITE</c>).
/// Prints the latency of a newest-first page for an admin key and for one key among many, of a read by id, and the
/// rate of a bulk replay as the API does it (pages of 100, one replay each). The jobs carry their owner as the accept
/// path enqueues them (<see cref="DeliveryJobMessages.OwnerProperty"/>).
/// </summary>
internal static class DeadLetterBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5000;
        var keys = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        var replays = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1000;
        var connection = Environment.GetEnvironmentVariable("MAILGATEWAY_BENCH_AZURITE");
        if (string.IsNullOrEmpty(connection))
        {
            Console.Error.WriteLine("MAILGATEWAY_BENCH_AZURITE (an Azurite connection string) is required; bench/servicebus-deadletters.sh sets it.");
            return 2;
        }

        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var storage = new AzureStorageOptions
        {
            ConnectionString = connection,
            ContentContainer = "bench-" + Guid.NewGuid().ToString("N")[..12],
            StatusTable = "benchdl" + Guid.NewGuid().ToString("N")[..12],
            IdempotencyTable = "benchdlidem" + Guid.NewGuid().ToString("N")[..12],
        };
        var status = new TableMessageStatusStore(new TableServiceClient(connection), Options.Create(storage), time, NullLogger<TableMessageStatusStore>.Instance);
        var content = new BlobMessageContentStore(new BlobServiceClient(connection), Options.Create(storage), time);
        var bus = new InMemoryServiceBus(time);
        var store = new ServiceBusDeadLetterStore(bus.DeadLetterQueue, status, content,
            Options.Create(new ServiceBusQueueOptions { ConnectionString = "unused", DeadLetterScanLimit = Math.Clamp(count, 100, 100_000) }), time,
            NullLogger<ServiceBusDeadLetterStore>.Instance);

        // N failed messages of `keys` keys, their jobs in the sub-queue as the worker leaves them.
        var arrange = Stopwatch.StartNew();
        var ids = Enumerable.Range(0, count).Select(i => $"dl{i:D7}" + Guid.NewGuid().ToString("N")[..8]).ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var now = time.GetUtcNow();
            await status.CreateAsync(new MessageRecord
            {
                Id = ids[i], Owner = $"key-{i % keys}", State = MessageState.Failed, CreatedAt = now, UpdatedAt = now,
                LastReply = "550 5.1.1 No such user", Envelope = new Envelope("app@example.com", ["b@example.net"]),
            }, null, ct);
        });
        for (var i = 0; i < count; i++)
        {
            var job = new DeliveryJob
            {
                MessageId = ids[i], ContentReference = "2026/11/28/0123456789abcdef0123456789abcdef.eml", MailFrom = "app@example.com",
                Recipients = ["b@example.net"], FirstSeen = time.GetUtcNow(), Owner = $"key-{i % keys}",
            };
            var message = DeliveryJobMessages.Create(job, null);
            foreach (var (name, value) in DeliveryJobMessages.DeadLetterProperties(time.GetUtcNow(), 1))
            {
                message.ApplicationProperties[name] = value;
            }

            bus.AddDeadLetter(message, DeadLetterReasons.Failed, "550 5.1.1 No such user");
        }

        Console.WriteLine($"arranged {count} dead letters of {keys} keys in {arrange.Elapsed.TotalSeconds:F1} s");
        await MeasureAsync("list, admin, first page of 50", rounds, () => store.ListAsync(new DeadLetterQuery { Limit = 50 }, CancellationToken.None));
        await MeasureAsync($"list, one key of {keys}, first page of 50", rounds, () => store.ListAsync(new DeadLetterQuery { Owner = "key-0", Limit = 50 }, CancellationToken.None));
        await MeasureAsync("list, admin, reason=Expired (no match)", rounds, () => store.ListAsync(new DeadLetterQuery { Reason = DeadLetterReasons.Expired }, CancellationToken.None));
        var newest = (await store.ListAsync(new DeadLetterQuery { Limit = 1 }, CancellationToken.None)).Items[0].Id;
        await MeasureAsync("get by id", rounds * 5, () => store.GetAsync(newest, CancellationToken.None));

        // A bulk replay as the API runs it: pages of at most 100, newest first, one replay per dead letter.
        var replay = Stopwatch.StartNew();
        var done = 0;
        TimeSpan? first = null;
        string? after = null;
        while (done < replays)
        {
            var page = await store.ListAsync(new DeadLetterQuery { After = after, Limit = Math.Min(100, replays - done) }, CancellationToken.None);
            foreach (var entry in page.Items)
            {
                var one = Stopwatch.StartNew();
                var result = await store.ReplayAsync(entry.Id, "bench", CancellationToken.None);
                first ??= one.Elapsed;
                done += result.Outcome == ReplayOutcome.Replayed ? 1 : 0;
            }

            after = page.Next;
            if (after is null)
            {
                break;
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bulk replay: {done} in {replay.Elapsed.TotalSeconds:F1} s = {done / replay.Elapsed.TotalSeconds:F0}/s (the first, which scans and defers the sub-queue: {first?.TotalMilliseconds:F0} ms); jobs on the queue {bus.Waiting.Count}"));
        return 0;
    }

    private static async Task MeasureAsync<T>(string name, int rounds, Func<Task<T>> call)
    {
        await call(); // warm
        var times = new List<double>(rounds);
        for (var i = 0; i < rounds; i++)
        {
            var watch = Stopwatch.StartNew();
            await call();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: p50 {times[times.Count / 2]:F1} ms, p99 {times[Math.Min(times.Count - 1, (int)Math.Ceiling(times.Count * 0.99) - 1)]:F1} ms ({rounds} calls)"));
    }
}
