using MailGateway.Listener.Storage;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace MailGateway.Listener.Tests;

public sealed class StoreFailureTests
{
    [Theory]
    [InlineData("create")]
    [InlineData("write")]
    [InlineData("commit")]
    public async Task Store_failure_answers_451_4_3_0_never_554_and_the_session_goes_on(string failAt)
    {
        var store = new FailingStore(failAt);
        await using var listener = await TestListener.StartAsync(store: store);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");
        var body = string.Concat(Enumerable.Repeat(new string('q', 998) + "\r\n", 200));
        var reply = await client.CommandAsync("Subject: x\r\n\r\n" + body + ".");
        Assert.Equal(451, reply.Code);
        Assert.StartsWith("451 4.3.0 ", reply.Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
    }

    [Fact]
    public async Task Filesystem_store_that_cannot_write_answers_451()
    {
        var blocked = Path.Combine(Path.GetTempPath(), "mailgateway-blocked-" + Guid.NewGuid().ToString("N"));
        await using var listener = await TestListener.StartAsync(store: new Listener.Storage.FileSystemInboundMessageStore(blocked));

        // A file where the day's folder should be: creating the message fails like a full or broken disk.
        var today = DateTimeOffset.UtcNow;
        var inbound = Path.Combine(blocked, "inbound", today.ToString("yyyy", System.Globalization.CultureInfo.InvariantCulture), today.ToString("MM", System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(inbound);
        await File.WriteAllTextAsync(Path.Combine(inbound, today.ToString("dd", System.Globalization.CultureInfo.InvariantCulture)), "not a folder");
        try
        {
            await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
            await client.CommandAsync("MAIL FROM:<a@remote.test>");
            await client.CommandAsync("RCPT TO:<b@example.test>");
            await client.CommandAsync("DATA");
            Assert.Equal(451, (await client.CommandAsync("Subject: x\r\n\r\nbody\r\n.")).Code);
        }
        finally
        {
            Directory.Delete(blocked, recursive: true);
        }
    }

    private static async Task<int> SendOneAsync(int port, int i)
    {
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");
        return (await client.CommandAsync($"Subject: {i}\r\n\r\nbody {i}\r\n.")).Code;
    }

    [Theory]
    [InlineData(FileSystemCommit.SyncFiles)]
    [InlineData(FileSystemCommit.SyncFileSystem)]
    public async Task A_group_commit_that_fails_answers_451_to_every_waiting_session_and_none_is_stored(FileSystemCommit commit)
    {
        var root = Path.Combine(Path.GetTempPath(), "mailgateway-failcommit-" + Guid.NewGuid().ToString("N"));
        var store = new FileSystemInboundMessageStore(root, commit);
        await using var listener = await TestListener.StartAsync(store: store);
        using var messages = new MetricCollector<long>(listener.Listener.Meter, "mailgateway.inbound.messages");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Committer.BeforeRound = () => release.Task;
        try
        {
            const int sessions = 10;
            var replies = Enumerable.Range(0, sessions).Select(i => SendOneAsync(listener.Port, i)).ToArray();
            await FileSystemStoreTests.WaitForWaitingCommitsAsync(store, sessions);

            // The day folder removed under the waiting messages (their temp files with it): the commit cannot rename them.
            foreach (var day in Directory.GetDirectories(Path.Combine(root, "inbound")))
            {
                Directory.Delete(day, recursive: true);
            }

            release.SetResult();
            Assert.All(await Task.WhenAll(replies), code => Assert.Equal(451, code));

            Assert.Empty(Directory.GetFiles(root, "*.eml", SearchOption.AllDirectories));
            Assert.Empty(Directory.GetFiles(root, "*.json", SearchOption.AllDirectories));
            var outcomes = messages.GetMeasurementSnapshot().Select(m => m.Tags["outcome"] as string).ToArray();
            Assert.Equal(sessions, outcomes.Length);
            Assert.All(outcomes, o => Assert.Equal("store_failed", o));

            // The next message makes the folder again and is stored.
            Assert.Equal(250, await SendOneAsync(listener.Port, 99));
            Assert.Single(Directory.GetFiles(root, "*.eml", SearchOption.AllDirectories));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData(FileSystemCommit.SyncFiles)]
    [InlineData(FileSystemCommit.SyncFileSystem)]
    public async Task Concurrent_sessions_after_the_day_folder_was_removed_are_all_stored(FileSystemCommit commit)
    {
        // What bench/inbound-accept.sh does between rows (rm -rf store/inbound/*), then the next row's 20 sessions at once.
        var root = Path.Combine(Path.GetTempPath(), "mailgateway-removed-" + Guid.NewGuid().ToString("N"));
        var store = new FileSystemInboundMessageStore(root, commit);
        await using var listener = await TestListener.StartAsync(store: store);
        using var messages = new MetricCollector<long>(listener.Listener.Meter, "mailgateway.inbound.messages");
        try
        {
            const int sessions = 20;
            Assert.All(await Task.WhenAll(Enumerable.Range(0, sessions).Select(i => SendOneAsync(listener.Port, i))), code => Assert.Equal(250, code));
            foreach (var year in Directory.GetDirectories(Path.Combine(root, "inbound")))
            {
                Directory.Delete(year, recursive: true);
            }

            Assert.All(await Task.WhenAll(Enumerable.Range(0, sessions).Select(i => SendOneAsync(listener.Port, 100 + i))), code => Assert.Equal(250, code));
            Assert.Equal(sessions, Directory.GetFiles(root, "*.eml", SearchOption.AllDirectories).Length);
            Assert.Equal(sessions, Directory.GetFiles(root, "*.json", SearchOption.AllDirectories).Length);
            Assert.All(messages.GetMeasurementSnapshot(), m => Assert.Equal("stored", m.Tags["outcome"]));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
