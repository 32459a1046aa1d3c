using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MailGateway.Core.Storage;
using MailGateway.Listener;
using MailGateway.Listener.Storage;

namespace MailGateway.Listener.Tests;

/// <summary>The filesystem store on its own: the group commit, remembered folders.</summary>
public sealed class FileSystemStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mailgateway-fsstore-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static readonly DateTimeOffset Day1 = new(2026, 11, 27, 23, 59, 59, TimeSpan.Zero);
    private static readonly DateTimeOffset Day2 = new(2026, 11, 28, 0, 0, 1, TimeSpan.Zero);

    private static async Task<string> StoreAsync(FileSystemInboundMessageStore store, string id, DateTimeOffset at, byte[] content)
    {
        using var writer = await store.CreateWriterAsync(id, at, CancellationToken.None);
        // Two writes, as the listener does (the Received header, then the message).
        await writer.WriteAsync(content.AsMemory(0, content.Length / 2), CancellationToken.None);
        await writer.WriteAsync(content.AsMemory(content.Length / 2), CancellationToken.None);
        return await writer.CommitAsync(new InboundMessageMetadata
        {
            Id = id,
            ReceivedAt = at,
            MailFrom = "a@example.test",
            Recipients = ["b@example.test"],
            ClientIp = "127.0.0.1",
            ClientHelo = "client.test",
            Tls = false,
            Size = content.Length,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(content)),
        }, CancellationToken.None);
    }

    private static byte[] Content(int i) => Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\n" + new string((char)('a' + (i % 26)), 3000 + i) + "\r\n");

    private static void AssertStored(string emlPath, string id, byte[] content)
    {
        Assert.Equal(id + ".eml", Path.GetFileName(emlPath));
        Assert.Equal(content, File.ReadAllBytes(emlPath));
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.ChangeExtension(emlPath, ".json")));
        Assert.Equal(id, json.RootElement.GetProperty("id").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), json.RootElement.GetProperty("sha256").GetString());
        Assert.Equal(content.Length, json.RootElement.GetProperty("size").GetInt64());
    }

    [Theory]
    [InlineData(FileSystemCommit.SyncFiles)]
    [InlineData(FileSystemCommit.SyncFileSystem)]
    public async Task Many_concurrent_commits_to_one_folder_are_all_stored_with_their_metadata(FileSystemCommit commit)
    {
        var store = new FileSystemInboundMessageStore(_root, commit);
        await store.InitializeAsync(CancellationToken.None);
        const int count = 200;

        var paths = await Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(() => StoreAsync(store, "m" + i, Day1, Content(i)))));

        for (var i = 0; i < count; i++)
        {
            Assert.Equal(Path.Combine(_root, "inbound", "2026", "11", "27"), Path.GetDirectoryName(paths[i]));
            AssertStored(paths[i], "m" + i, Content(i));
        }

        var folder = Path.Combine(_root, "inbound", "2026", "11", "27");
        Assert.Equal(count, Directory.GetFiles(folder, "*.eml").Length);
        Assert.Equal(count, Directory.GetFiles(folder, "*.json").Length);
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
        if (commit == FileSystemCommit.SyncFiles)
        {
            // Every commit waited for a folder fsync; concurrent ones may share it, but there was at least one and never more than one each.
            Assert.InRange(store.FolderSyncCount, 1, count);
            Assert.Equal(0, store.FileSystemSyncCount);
        }
        else
        {
            // Every commit waited for two syncfs (its data, then its renames); a round's syncfs serves two rounds.
            Assert.InRange(store.FileSystemSyncCount, 2, count + 1);
            Assert.Equal(0, store.FolderSyncCount);
        }
    }

    // Holds the store's group-commit leader before its next round until released: commits queue up meanwhile.
    private static TaskCompletionSource HoldLeader(FileSystemInboundMessageStore store)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Committer.BeforeRound = () => release.Task;
        return release;
    }

    internal static async Task WaitForWaitingCommitsAsync(FileSystemInboundMessageStore store, int count)
    {
        // Not a timing assert: waits (up to a generous bound) until the sessions have handed their messages over.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (store.Committer.Waiting < count)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    [Theory]
    [InlineData(FileSystemCommit.SyncFiles, 1)]
    [InlineData(FileSystemCommit.SyncFileSystem, 2)]
    public async Task Commits_that_wait_while_a_round_runs_share_the_next_one(FileSystemCommit commit, int syncsForTheBatch)
    {
        var store = new FileSystemInboundMessageStore(_root, commit);
        await store.InitializeAsync(CancellationToken.None);
        var release = HoldLeader(store);
        const int count = 20;

        var commits = Enumerable.Range(0, count).Select(i => Task.Run(() => StoreAsync(store, "s" + i, Day1, Content(i)))).ToArray();
        await WaitForWaitingCommitsAsync(store, count);
        Assert.All(commits, c => Assert.False(c.IsCompleted));
        Assert.Equal(0, store.Committer.SyncCount);

        release.SetResult();
        var paths = await Task.WhenAll(commits);

        // One round took all twenty: SyncFiles one folder fsync; SyncFileSystem one syncfs for their data and one for their renames.
        Assert.Equal(1, store.Committer.Rounds);
        Assert.Equal(syncsForTheBatch, store.Committer.SyncCount);
        for (var i = 0; i < count; i++)
        {
            AssertStored(paths[i], "s" + i, Content(i));
        }
    }

    [Theory]
    [InlineData(FileSystemCommit.SyncFiles)]
    [InlineData(FileSystemCommit.SyncFileSystem)]
    public async Task A_failing_sync_fails_every_commit_waiting_for_it_and_leaves_no_file(FileSystemCommit commit)
    {
        var failing = false;
        var store = new FileSystemInboundMessageStore(_root, commit, path =>
        {
            if (Volatile.Read(ref failing))
            {
                throw new IOException("EIO (test)");
            }

            if (commit == FileSystemCommit.SyncFiles)
            {
                DurableDirectory.Sync(path);
            }
            else
            {
                DurableDirectory.SyncFileSystem(path);
            }
        });
        await store.InitializeAsync(CancellationToken.None);
        var before = await StoreAsync(store, "before", Day1, Content(0));

        var release = HoldLeader(store);
        const int count = 10;
        var commits = Enumerable.Range(0, count).Select(i => Task.Run(() => StoreAsync(store, "f" + i, Day1, Content(i)))).ToArray();
        await WaitForWaitingCommitsAsync(store, count);
        Volatile.Write(ref failing, true);
        release.SetResult();

        foreach (var c in commits)
        {
            var error = await Assert.ThrowsAsync<IOException>(() => c);
            Assert.Contains("group commit", error.Message, StringComparison.Ordinal);
        }

        // Nothing of the failed messages is left (neither visible nor as temp files); the earlier message is intact.
        var folder = Path.GetDirectoryName(before)!;
        Assert.Equal(["before.eml", "before.json"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        AssertStored(before, "before", Content(0));

        // The store goes on once the disk does.
        Volatile.Write(ref failing, false);
        AssertStored(await StoreAsync(store, "after", Day1, Content(1)), "after", Content(1));
    }

    [Fact]
    public async Task Temp_files_a_crash_left_are_removed_at_start_and_messages_are_kept()
    {
        var first = new FileSystemInboundMessageStore(_root);
        await first.InitializeAsync(CancellationToken.None);
        var kept = await StoreAsync(first, "kept", Day1, Content(1));

        // A crash in the middle of two messages: their temp files stay behind (one in a folder of another day).
        var folder1 = Path.GetDirectoryName(kept)!;
        var folder2 = Path.Combine(_root, "inbound", "2026", "11", "28");
        Directory.CreateDirectory(folder2);
        await File.WriteAllTextAsync(Path.Combine(folder1, "lost1.eml.tmp"), "Subject: half a message");
        await File.WriteAllTextAsync(Path.Combine(folder2, "lost2.eml.tmp"), "Subject: half");
        await File.WriteAllTextAsync(Path.Combine(folder2, "lost2.json.tmp"), "{");

        var restarted = new FileSystemInboundMessageStore(_root);
        await restarted.InitializeAsync(CancellationToken.None);

        Assert.Equal(3, restarted.RemovedTempFiles);
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "inbound"), "*.tmp", SearchOption.AllDirectories));
        AssertStored(kept, "kept", Content(1));
    }

    [Fact]
    public async Task Folders_are_remembered_across_a_date_change_and_made_again_when_removed()
    {
        var store = new FileSystemInboundMessageStore(_root);
        await store.InitializeAsync(CancellationToken.None);

        AssertStored(await StoreAsync(store, "d1a", Day1, Content(1)), "d1a", Content(1));
        AssertStored(await StoreAsync(store, "d2a", Day2, Content(2)), "d2a", Content(2));
        // Back to a remembered folder (a message received just before midnight, committed after).
        AssertStored(await StoreAsync(store, "d1b", Day1, Content(3)), "d1b", Content(3));

        Assert.Equal(["d1a.eml", "d1b.eml"], Directory.GetFiles(Path.Combine(_root, "inbound", "2026", "11", "27"), "*.eml").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["d2a.eml"], Directory.GetFiles(Path.Combine(_root, "inbound", "2026", "11", "28"), "*.eml").Select(Path.GetFileName));

        // A remembered folder removed behind the store's back (an operator archiving a day) is made again.
        Directory.Delete(Path.Combine(_root, "inbound", "2026"), recursive: true);
        AssertStored(await StoreAsync(store, "d2b", Day2, Content(4)), "d2b", Content(4));
    }

    [Fact]
    public void A_create_that_finds_its_remembered_folder_gone_makes_it_again_whatever_exception_NET_chose()
    {
        var folders = new DurableFolders();
        var folder = Path.Combine(_root, "inbound", "2026", "11", "27");
        folders.Ensure(folder);
        Directory.Delete(Path.Combine(_root, "inbound"), recursive: true);

        // The plain case: the open fails with DirectoryNotFoundException.
        var path1 = Path.Combine(folder, "a.tmp");
        using (var first = folders.CreateIn(folder, () => new FileStream(path1, FileMode.CreateNew)))
        {
            Assert.True(File.Exists(path1));
        }

        // Under concurrency .NET reports the same failed open as FileNotFoundException when another session made the
        // folder again before .NET looked (the 451 bench/inbound-accept.sh got after removing the day folder). The
        // first attempt here fails the way that race makes it fail, on a folder that is really gone.
        Directory.Delete(Path.Combine(_root, "inbound"), recursive: true);
        var path2 = Path.Combine(folder, "b.tmp");
        var attempts = 0;
        using (var second = folders.CreateIn(folder, () =>
        {
            if (++attempts == 1)
            {
                Assert.False(Directory.Exists(folder));
                throw new FileNotFoundException("Could not find file (as .NET reports it when the folder reappeared meanwhile).", path2);
            }

            return new FileStream(path2, FileMode.CreateNew);
        }))
        {
            Assert.Equal(2, attempts);
            Assert.True(File.Exists(path2));
        }
    }

    [Fact]
    public async Task A_commit_waits_for_a_folder_sync_that_started_after_its_request()
    {
        using var firstSyncRunning = new ManualResetEventSlim();
        using var releaseFirstSync = new ManualResetEventSlim();
        var syncs = 0;
        var syncer = new DirectoryGroupSync(() =>
        {
            if (Interlocked.Increment(ref syncs) == 1)
            {
                firstSyncRunning.Set();
                releaseFirstSync.Wait(TimeSpan.FromSeconds(30));
            }
        });

        var first = Task.Run(() => syncer.SyncAsync(CancellationToken.None));
        Assert.True(firstSyncRunning.Wait(TimeSpan.FromSeconds(30)));

        // Requested while the first sync runs: that sync may have started before their renames, so it does not cover them.
        var second = syncer.SyncAsync(CancellationToken.None);
        var third = syncer.SyncAsync(CancellationToken.None);
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);

        releaseFirstSync.Set();
        await Task.WhenAll(first, second, third);

        // One more sync covers both waiting requests.
        Assert.Equal(2, syncs);
        Assert.Equal(2, syncer.SyncCount);
    }
}
