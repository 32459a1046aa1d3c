using Azure.Core;
using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Listener.Storage;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Listener.Tests;

/// <summary>Every store call is bounded by StoreTimeout: a hung store gets the client 451 4.3.0, never silence.</summary>
public sealed class StoreTimeoutTests
{
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("create", false)]
    [InlineData("create", true)]
    [InlineData("write", false)]
    [InlineData("write", true)]
    [InlineData("commit", false)]
    [InlineData("commit", true)]
    public async Task A_store_that_hangs_at_any_step_answers_451_after_StoreTimeout_and_the_session_goes_on(string hangAt, bool blockThread)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var store = new HangingStore(hangAt, blockThread);
        await using var listener = await TestListener.StartAsync(o => o.StoreTimeout = StoreTimeout, store, time);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);

        // 200 KB: more than one write to the store while DATA arrives (time runs while it is sent: a hung write stops
        // the listener reading until StoreTimeout).
        var body = string.Concat(Enumerable.Repeat(new string('w', 998) + "\r\n", 200));
        var sent = client.SendAsync("Subject: hung\r\n\r\n" + body + ".\r\n");
        var waited = await time.AdvanceUntilAsync(sent, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
        await sent;
        var reply = client.ReadReplyAsync();
        waited += await time.AdvanceUntilAsync(reply, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

        Assert.StartsWith("451 4.3.0 ", (await reply.WaitAsync(TimeSpan.FromSeconds(30))).Text, StringComparison.Ordinal);
        Assert.True(waited >= StoreTimeout, $"451 after {waited}, before StoreTimeout");
        Assert.Equal(1, store.Hung);

        // The abandoned writer is disposed once its call ends, and the session is in step for the next message.
        store.Release();
        await LimitTests.PollAsync(() => store.DisposedWriters == 1);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: after\r\n\r\nok\r\n.")).Code);
    }

    [Fact]
    public async Task A_store_that_hangs_at_start_stops_the_start_after_StoreTimeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var store = new HangingStore("init", blockThread: false);
        var start = TestListener.StartAsync(o => o.StoreTimeout = StoreTimeout, store, time);

        await time.AdvanceUntilAsync(start, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => start);
        Assert.Contains("MailGateway:Inbound:StoreTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Blob_endpoint_that_accepts_and_never_answers_gets_451_after_StoreTimeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var hung = new HungEndpoint();

        // The SDK's own defaults: 100 s per try, three retries — over five minutes of silence without the bound.
        var container = new BlobServiceClient(new Uri($"http://127.0.0.1:{hung.Port}/devstoreaccount1"), new BlobClientOptions { Retry = { Mode = RetryMode.Exponential } })
            .GetBlobContainerClient("mail");
        await using var listener = await TestListener.StartAsync(
            o => o.StoreTimeout = StoreTimeout, new BlobInboundMessageStore(container, createContainer: false), time);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");
        await client.SendAsync("Subject: to a hung blob\r\n\r\nHello.\r\n.\r\n");
        var reply = client.ReadReplyAsync();

        // Time moves once the store's request has reached the endpoint (the SDK connects in real time).
        await LimitTests.PollAsync(() => hung.Accepted > 0);
        var waited = await time.AdvanceUntilAsync(reply, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

        Assert.StartsWith("451 4.3.0 ", (await reply.WaitAsync(TimeSpan.FromSeconds(30))).Text, StringComparison.Ordinal);
        Assert.True(waited >= StoreTimeout);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }
}
