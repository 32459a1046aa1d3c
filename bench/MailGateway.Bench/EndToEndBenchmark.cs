using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MailGateway.Bench;

/// <summary>
/// POST → delivered at the relay, per message: the time from just before the POST to the end of the delivering attempt
/// as the status API reports it (<c>startedAt + durationMs</c> of the delivered attempt, same clock, same machine).
/// Modes: <c>idle</c> sends one message and waits until it is delivered before the next; a positive rate sends open-loop
/// at that many requests/s (at most <c>concurrency</c> in flight); <c>max</c> sends as fast as <c>concurrency</c> connections allow.
/// </summary>
internal static class EndToEndBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var baseUrl = new Uri(args[0].TrimEnd('/') + "/");
        var key = args[1];
        var mode = args[2];
        var count = int.Parse(args[3], CultureInfo.InvariantCulture);
        var concurrency = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 50;

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = mode == "idle" ? 2 : concurrency + 2 })
        {
            BaseAddress = baseUrl,
            Timeout = TimeSpan.FromSeconds(60),
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            from = "app@example.com",
            to = new[] { "rcpt@example.net" },
            subject = "bench",
            text = new string('x', 4000),
        }));

        var sent = new ConcurrentBag<(string Id, DateTimeOffset SentAt, double AcceptMs)>();

        async Task<string> Send()
        {
            var sentAt = DateTimeOffset.UtcNow;
            var stopwatch = Stopwatch.StartNew();
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync("api/v1/messages", content);
            var acceptMs = stopwatch.Elapsed.TotalMilliseconds;
            response.EnsureSuccessStatusCode();
            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            var id = json.RootElement.GetProperty("id").GetString()!;
            sent.Add((id, sentAt, acceptMs));
            return id;
        }

        // Warm-up: JIT, connections, the worker's relay connections.
        for (var i = 0; i < 50; i++)
        {
            await Send();
        }

        var warm = sent.ToArray();
        foreach (var (id, _, _) in warm)
        {
            await WaitDeliveredAsync(http, id, DateTime.UtcNow.AddSeconds(60));
        }

        sent.Clear();

        var wall = Stopwatch.StartNew();
        if (mode == "idle")
        {
            for (var i = 0; i < count; i++)
            {
                var id = await Send();
                await WaitDeliveredAsync(http, id, DateTime.UtcNow.AddSeconds(60));
            }
        }
        else
        {
            var rate = mode == "max" ? 0 : double.Parse(mode, CultureInfo.InvariantCulture);
            using var slots = new SemaphoreSlim(concurrency);
            var tasks = new List<Task>(count);
            for (var i = 0; i < count; i++)
            {
                if (rate > 0)
                {
                    var due = TimeSpan.FromSeconds(i / rate);
                    while (wall.Elapsed < due)
                    {
                        await Task.Delay(1);
                    }
                }

                await slots.WaitAsync();
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        await Send();
                    }
                    finally
                    {
                        slots.Release();
                    }
                }));
            }

            await Task.WhenAll(tasks);
        }

        var sendSeconds = wall.Elapsed.TotalSeconds;
        var latencies = new List<double>(count);
        var deadline = DateTime.UtcNow.AddSeconds(300);
        foreach (var (id, sentAt, _) in sent)
        {
            var deliveredAt = await WaitDeliveredAsync(http, id, deadline);
            if (deliveredAt is null)
            {
                Console.Error.WriteLine($"{id} not delivered in time");
                return 1;
            }

            latencies.Add((deliveredAt.Value - sentAt).TotalMilliseconds);
        }

        var accepts = sent.Select(s => s.AcceptMs).ToList();
        Console.WriteLine(FormattableString.Invariant(
            $"e2e {mode} {count} {sent.Count / sendSeconds:F0} {Percentile(accepts, 50):F1} {Percentile(accepts, 99):F1} {Percentile(latencies, 50):F1} {Percentile(latencies, 99):F1} {latencies.Max():F1}"));
        return 0;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    /// <summary>Polls the status until delivered; returns the end of the delivering attempt.</summary>
    private static async Task<DateTimeOffset?> WaitDeliveredAsync(HttpClient http, string id, DateTime deadline)
    {
        while (DateTime.UtcNow < deadline)
        {
            using var json = JsonDocument.Parse(await http.GetStringAsync(new Uri("api/v1/messages/" + id, UriKind.Relative)));
            var root = json.RootElement;
            var status = root.GetProperty("status").GetString();
            if (status == "delivered")
            {
                foreach (var attempt in root.GetProperty("attempts").EnumerateArray())
                {
                    if (attempt.GetProperty("outcome").GetString() == "delivered")
                    {
                        return attempt.GetProperty("startedAt").GetDateTimeOffset().AddMilliseconds(attempt.GetProperty("durationMs").GetInt64());
                    }
                }

                return root.GetProperty("updatedAt").GetDateTimeOffset();
            }

            if (status is "failed" or "expired" or "unknown")
            {
                throw new InvalidOperationException($"{id}: {status}");
            }

            await Task.Delay(2);
        }

        return null;
    }
}
