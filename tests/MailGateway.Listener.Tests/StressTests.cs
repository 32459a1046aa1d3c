using System.Net;
using MailGateway.Listener.Smtp;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Listener.Tests;

/// <summary>Near MaxConnections the listener is under stress: Postfix's shorter timeouts, per request instead of per read.</summary>
public sealed class StressTests
{
    [Fact]
    public void The_limiter_counts_IPv6_per_64_and_signals_stress_from_the_threshold_on()
    {
        var limiter = new ConnectionLimiter(maxTotal: 10, maxPerClient: 5, maxPerIPv6Prefix: 2, stressThreshold: 3);
        var calm = limiter.Stress;
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2::1"), out var stress1));
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2:ffff::9"), out _));
        Assert.Equal(LimitReached.PerNetwork, limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2::77"), out _));
        Assert.False(stress1);
        Assert.False(calm.IsCancellationRequested);

        // Another /64 is another network; the third connection puts the listener under stress.
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:3::1"), out var stress3));
        Assert.True(stress3);
        Assert.True(calm.IsCancellationRequested);
        Assert.True(limiter.Stress.IsCancellationRequested);

        limiter.Release(IPAddress.Parse("2001:db8:1:2::1"));
        Assert.False(limiter.Stress.IsCancellationRequested);
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2::77"), out var again));
        Assert.True(again);
    }

    [Fact]
    public async Task Under_stress_DATA_at_the_minimum_rate_or_faster_goes_on_and_a_drip_is_cut()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new CountingStore();
        await using var listener = await TestListener.StartAsync(
            o =>
            {
                o.MaxConnections = 4;
                o.MaxConnectionsPerClient = 4;
                o.StressThresholdPercent = 50;
                o.MinimumTransferRate = 10 * 1024;
            },
            store,
            time);
        await using var fast = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await using var drip = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        foreach (var client in new[] { fast, drip })
        {
            await client.CommandAsync("MAIL FROM:<a@remote.test>");
            await client.CommandAsync("RCPT TO:<b@example.test>");
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        }

        // 60 s of DATA at 100 KiB/s (ten times the minimum) is fine under stress; one byte a second is cut after 10 s.
        // Fake time moves only once the listener has read what was sent (it hands the store 64 KiB at a time).
        var dripReply = drip.ReadReplyAsync();
        var chunk = new string('f', 100 * 1024 - 2) + "\r\n";
        long sent = 0;
        for (var second = 0; second < 60; second++)
        {
            await fast.SendAsync(chunk);
            sent += chunk.Length;
            await LimitTests.PollAsync(() => store.Written >= sent - (128 * 1024));
            if (!dripReply.IsCompleted)
            {
                await SendIgnoringClosedAsync(drip, "d");
            }

            await time.AdvanceUntilAsync(dripReply, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        }

        Assert.StartsWith("421 4.4.2 ", (await dripReply.WaitAsync(TimeSpan.FromSeconds(30))).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await fast.CommandAsync(".")).Code);
        Assert.True(store.LastSize > 60 * chunk.Length);
    }

    private static async Task SendIgnoringClosedAsync(RawSmtpClient client, string text)
    {
        try
        {
            await client.SendAsync(text);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
        {
            // Closed by the server already; its 421 is read by the test.
        }
    }

    [Fact]
    public async Task Without_stress_an_idle_session_keeps_the_full_CommandTimeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var listener = await TestListener.StartAsync(
            o =>
            {
                o.MaxConnections = 4;
                o.MaxConnectionsPerClient = 4;
                o.StressThresholdPercent = 75;
            },
            timeProvider: time);

        // Stress comes with the third connection and goes with it.
        await using var idle = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await using var second = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await using (var third = await RawSmtpClient.ConnectAndGreetAsync(listener.Port))
        {
            Assert.Equal(221, (await third.CommandAsync("QUIT")).Code);
        }

        await LimitTests.PollAsync(() => listener.Listener.OpenConnections == 2);

        // The idle session's command is still waiting from before; a new one begins without stress.
        Assert.Equal(250, (await idle.CommandAsync("NOOP")).Code);
        var reply = idle.ReadReplyAsync();
        var waited = await time.AdvanceUntilAsync(reply, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10));
        Assert.StartsWith("421 4.4.2 ", (await reply).Text, StringComparison.Ordinal);
        Assert.True(waited >= TimeSpan.FromMinutes(5), $"closed after {waited}, before CommandTimeout");
    }
}
