using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using MailGateway.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// kill -9 while delivering, restart: every message that got a 202 reaches the relay. Duplicates (the same
/// Message-ID twice) may only come from the documented ambiguous window: the message was sent and the relay
/// accepted it, but the process died before it wrote "delivered" (its record is still "sending").
/// </summary>
public sealed partial class CrashSafetyTests(ITestOutputHelper output)
{
    private const int Messages = 200;
    private const int Concurrency = 8;
    private const int PassBeforeGate = 40;

    [Fact]
    public async Task Every_accepted_message_reaches_the_relay_after_kill_9_and_restart()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dataReplies = 0;
        var blocked = 0;
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            Endpoints = [RelayEndpointKind.PlainOnly],
            BeforeDataReply = ct =>
            {
                if (Interlocked.Increment(ref dataReplies) <= PassBeforeGate || gate.Task.IsCompleted)
                {
                    return Task.CompletedTask;
                }

                // The message is fully transmitted; the relay holds its answer (a slow relay) until after the kill.
                Interlocked.Increment(ref blocked);
                return gate.Task.WaitAsync(ct);
            },
        });
        var data = GatewayHost.NewDataDirectory();
        Directory.CreateDirectory(data);
        var settings = GatewayHost.Settings(relay, data, RelayEndpointKind.PlainOnly);
        settings["urls"] = "http://127.0.0.1:0";
        settings["MailGateway:DeliveryWorker:Concurrency"] = Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // 1. Accept 200 messages while the worker delivers.
        var accepted = new ConcurrentBag<string>();
        using (var first = await GatewayProcess.StartAsync(data, settings))
        {
            using var client = Client(first.BaseAddress);
            using var slots = new SemaphoreSlim(8);
            await Task.WhenAll(Enumerable.Range(0, Messages).Select(async i =>
            {
                await slots.WaitAsync();
                try
                {
                    var response = await client.PostAsync("/api/v1/messages", GatewayHost.Json(GatewayHost.Message($"crash-{i}")));
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        accepted.Add((await GatewayHost.ReadAsync(response)).GetProperty("id").GetString()!);
                    }
                }
                finally
                {
                    slots.Release();
                }
            }));

            // 2. Every worker slot is now stuck after the final dot: kill -9.
            await WaitUntilAsync(() => Volatile.Read(ref blocked) >= Concurrency, () => $"blocked {blocked}, output:\n{first.Output}");
            await first.KillAsync();
        }

        Assert.Equal(Messages, accepted.Count);
        var sendingAtCrash = await IdsInStateAsync(data, "Sending");

        // 3. The relay now accepts what it was holding (their senders are dead: the answer is lost).
        gate.SetResult();
        await relay.WaitForMessagesAsync(PassBeforeGate + Concurrency, TimeSpan.FromSeconds(60));

        // 4. Restart on the same data: every accepted message must reach the relay.
        using var second = await GatewayProcess.StartAsync(data, settings);
        await WaitUntilAsync(() => accepted.All(new HashSet<string>(RelayedIds(relay)).Contains), () => $"relayed {RelayedIds(relay).Distinct().Count()} of {Messages}");
        using var secondClient = Client(second.BaseAddress);
        foreach (var id in accepted)
        {
            var status = await GatewayHost.ReadAsync(await secondClient.GetAsync($"/api/v1/messages/{id}"));
            Assert.Equal("delivered", status.GetProperty("status").GetString());
        }

        var duplicates = RelayedIds(relay).GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        output.WriteLine($"accepted {accepted.Count}, sending at the crash {sendingAtCrash.Count}, relayed {relay.Messages.Count}, duplicates {duplicates.Count}");
        Assert.Equal(Concurrency, sendingAtCrash.Count);
        Assert.All(duplicates, id => Assert.Contains(id, sendingAtCrash));
        Assert.All(RelayedIds(relay).GroupBy(id => id), g => Assert.InRange(g.Count(), 1, 2));
        Assert.Equal(Messages, RelayedIds(relay).Distinct().Count());
        Assert.Equal(Messages + duplicates.Count, relay.Messages.Count);
    }

    private static HttpClient Client(Uri baseAddress)
    {
        var client = new HttpClient { BaseAddress = baseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayHost.AppKey);
        return client;
    }

    private static IEnumerable<string> RelayedIds(TestRelay relay) =>
        relay.Messages.Select(m => MessageIdHeader().Match(Encoding.ASCII.GetString(m.Data)).Groups[1].Value);

    private static async Task<HashSet<string>> IdsInStateAsync(string data, string state)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(data, "gateway.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM messages WHERE state = $state";
        command.Parameters.AddWithValue("$state", state);
        var ids = new HashSet<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static Task WaitUntilAsync(Func<bool> condition, Func<string> describe) => Poll.UntilAsync(condition, describe, TimeSpan.FromSeconds(90));

    [GeneratedRegex(@"Message-I[dD]: <([0-9a-f]+)@", RegexOptions.IgnoreCase)]
    private static partial Regex MessageIdHeader();
}
