using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using MailGateway.Testing;

namespace MailGateway.Listener.Tests;

/// <summary>Timeouts run on a FakeTimeProvider: time is advanced, never waited for.</summary>
public sealed class TimeoutTests
{
    [Fact]
    public async Task Session_timeout_lets_a_50_MB_upload_at_200_KB_per_second_succeed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new CountingStore();
        const int size = 50 * 1024 * 1024;
        await using var listener = await TestListener.StartAsync(o => o.MaxMessageSize = size + 1024, store, time);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);

        var line = System.Text.Encoding.ASCII.GetBytes(new string('m', 1022) + "\r\n");
        var chunk = new byte[64 * 1024];
        for (var i = 0; i < chunk.Length; i += line.Length)
        {
            line.CopyTo(chunk, i);
        }

        // 200 KB/s: each 64 KB chunk takes 0.32 s of (fake) time; 50 MB take 256 s in all.
        for (var sent = 0; sent < size; sent += chunk.Length)
        {
            await client.SendAsync(chunk);
            time.Advance(TimeSpan.FromSeconds(chunk.Length / (200.0 * 1024)));
        }

        var reply = await client.CommandAsync(".");
        Assert.Equal(250, reply.Code);
        Assert.True(store.LastSize > size);
        Assert.True(listener.Options.SessionTimeout > TimeSpan.FromSeconds(256));
    }

    [Fact]
    public async Task Closes_an_upload_slower_than_the_minimum_rate_with_421()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var listener = await TestListener.StartAsync(
            o =>
            {
                o.MaxMessageSize = 1024 * 1024;
                o.MinimumTransferRate = 10 * 1024;
                o.CommandTimeout = TimeSpan.FromSeconds(60);
            },
            new CountingStore(),
            time);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");

        // 1 KB/s, well under the minimum: the session deadline (60 s + 1 MiB / 10 KiB/s = 162.4 s) cuts it.
        var reply = client.ReadReplyAsync();
        var chunk = new byte[1024];
        Array.Fill(chunk, (byte)'s');
        for (var second = 0; second < 400 && !reply.IsCompleted; second++)
        {
            try
            {
                await client.SendAsync(chunk);
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                break;
            }

            time.Advance(TimeSpan.FromSeconds(1));
        }

        var result = await reply;
        Assert.Equal(421, result.Code);
        Assert.StartsWith("421 4.4.2 ", result.Text, StringComparison.Ordinal);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Closes_an_idle_session_with_421_after_the_command_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var listener = await TestListener.StartAsync(
            o =>
            {
                o.CommandTimeout = TimeSpan.FromMinutes(5);
                o.MaxMessageSize = 10 * 1024 * 1024;
                o.MinimumTransferRate = 1024;
            },
            timeProvider: time);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        var start = time.GetUtcNow();
        var reply = client.ReadReplyAsync();
        await Poll.UntilAsync(() => reply.IsCompleted, () => "no reply", eachPoll: () => time.Advance(TimeSpan.FromSeconds(30)));

        var result = await reply;
        Assert.Equal(421, result.Code);
        Assert.StartsWith("421 4.4.2 ", result.Text, StringComparison.Ordinal);

        // The idle limit fired, not the session deadline (5 min + 10 MiB at 1 KiB/s).
        Assert.InRange(time.GetUtcNow() - start, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10));
    }
}
