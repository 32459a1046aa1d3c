using System.Net;
using System.Net.Sockets;
using Azure;
using Azure.Data.Tables;
using MailGateway.AzureAdapters.Storage;
using MailGateway.AzureAdapters.Suppressions;
using MailGateway.Core.Suppressions;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Tests;

/// <summary>The suppression list in Table storage, on Azurite: each test has its own table.</summary>
public sealed class TableSuppressionListTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    private static async Task<TableSuppressionList> NewListAsync() => StorageFixtures.Suppressions(await StorageFixtures.OptionsAsync());

    private static SuppressionEntry Entry(string owner, string address, DateTimeOffset? expires = null, string reason = SuppressionReasons.Manual, string? detail = null, string? messageId = null) =>
        new(owner, address, reason, Now, expires, detail, messageId);

    [Fact]
    public async Task Find_compares_normalized_addresses_and_returns_the_callers_spelling_for_the_key_only()
    {
        var list = await NewListAsync();
        await list.AddAsync(Entry("key-1", "  Bob@Example.NET "), CancellationToken.None);

        var found = await list.FindAsync("key-1", ["bob@example.net", "BOB@example.net", "carol@example.net"], Now, CancellationToken.None);

        Assert.Equal(["BOB@example.net", "bob@example.net"], found.Order(StringComparer.Ordinal));
        Assert.Empty(await list.FindAsync("key-2", ["bob@example.net"], Now, CancellationToken.None));
        Assert.Empty(await list.FindAsync("key-1", [], Now, CancellationToken.None));
        var entry = Assert.Single(await list.ListAsync(new SuppressionQuery("key-1", Now, null, 10), CancellationToken.None));
        Assert.Equal("bob@example.net", entry.Address);
    }

    [Fact]
    public async Task Find_reads_many_recipients_of_one_message()
    {
        var list = await NewListAsync();
        var recipients = Enumerable.Range(0, 60).Select(i => $"user{i}@example.net").ToList();
        foreach (var address in recipients.Where((_, i) => i % 3 == 0))
        {
            await list.AddAsync(Entry("key-1", address), CancellationToken.None);
        }

        var found = await list.FindAsync("key-1", recipients, Now, CancellationToken.None);

        Assert.Equal(recipients.Where((_, i) => i % 3 == 0).Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_added_entry_replaces_the_one_of_the_same_key_and_address_entirely()
    {
        var list = await NewListAsync();
        await list.AddAsync(Entry("key-1", "bob@example.net", Now.AddDays(1), SuppressionReasons.HardBounce, "550 5.1.1 no such user", "m1"), CancellationToken.None);
        await list.AddAsync(Entry("key-1", "BOB@example.net", detail: "by hand"), CancellationToken.None);

        var entry = Assert.Single(await list.ListAsync(new SuppressionQuery(null, Now, null, 10), CancellationToken.None));

        Assert.Equal(new SuppressionEntry("key-1", "bob@example.net", SuppressionReasons.Manual, Now, null, "by hand", null), entry);
    }

    [Fact]
    public async Task Remove_deletes_the_entry_once_whatever_the_case()
    {
        var list = await NewListAsync();
        await list.AddAsync(Entry("key-1", "bob@example.net"), CancellationToken.None);
        await list.AddAsync(Entry("key-2", "bob@example.net"), CancellationToken.None);

        Assert.True(await list.RemoveAsync("key-1", "Bob@Example.net", CancellationToken.None));
        Assert.False(await list.RemoveAsync("key-1", "bob@example.net", CancellationToken.None));
        Assert.False(await list.RemoveAsync("key-3", "nobody@example.net", CancellationToken.None));

        Assert.Empty(await list.FindAsync("key-1", ["bob@example.net"], Now, CancellationToken.None));
        Assert.Equal(["bob@example.net"], await list.FindAsync("key-2", ["bob@example.net"], Now, CancellationToken.None));
    }

    [Fact]
    public async Task Expired_entries_are_not_found_and_not_listed_but_can_still_be_removed()
    {
        var list = await NewListAsync();
        await list.AddAsync(Entry("key-1", "soon@example.net", Now.AddHours(1)), CancellationToken.None);
        await list.AddAsync(Entry("key-1", "never@example.net"), CancellationToken.None);
        string[] both = ["soon@example.net", "never@example.net"];

        Assert.Equal(2, (await list.FindAsync("key-1", both, Now, CancellationToken.None)).Count);
        var listed = await list.ListAsync(new SuppressionQuery("key-1", Now, null, 10), CancellationToken.None);
        Assert.Equal([null, Now.AddHours(1)], listed.Select(e => e.ExpiresAt));

        var later = Now.AddHours(1);
        Assert.Equal(["never@example.net"], await list.FindAsync("key-1", both, later, CancellationToken.None));
        Assert.Equal(["never@example.net"], (await list.ListAsync(new SuppressionQuery("key-1", later, null, 10), CancellationToken.None)).Select(e => e.Address));
        Assert.True(await list.RemoveAsync("key-1", "soon@example.net", CancellationToken.None));
    }

    [Fact]
    public async Task Pages_with_cursors_cover_every_key_once_in_key_order_and_filter_by_key_and_address()
    {
        var list = await NewListAsync();
        string[] owners = ["key-b", "key-a", "key-c"];
        var all = new List<(string Owner, string Address)>();
        foreach (var owner in owners)
        {
            foreach (var address in new[] { "zed@example.net", "amy@example.net", "bob@example.org", "amy@example.com" })
            {
                await list.AddAsync(Entry(owner, address), CancellationToken.None);
                all.Add((owner, address));
            }
        }

        await list.AddAsync(Entry("key-a", "gone@example.net", Now.AddMinutes(-1)), CancellationToken.None);

        var seen = new List<(string, string)>();
        (string, string)? after = null;
        var pages = 0;
        while (true)
        {
            var page = await list.ListAsync(new SuppressionQuery(null, Now, after, 5), CancellationToken.None);
            seen.AddRange(page.Select(e => (e.Owner, e.Address)));
            pages++;
            if (page.Count < 5)
            {
                break;
            }

            after = (page[^1].Owner, page[^1].Address);
        }

        Assert.Equal(3, pages);
        Assert.Equal(all.OrderBy(e => e.Owner, StringComparer.Ordinal).ThenBy(e => e.Address, StringComparer.Ordinal), seen);

        var keyA = await list.ListAsync(new SuppressionQuery("key-a", Now, ("key-a", "amy@example.net"), 10), CancellationToken.None);
        Assert.Equal(["bob@example.org", "zed@example.net"], keyA.Select(e => e.Address));
        // A cursor of another key's page: only what comes after it in the (key, address) order.
        Assert.Empty(await list.ListAsync(new SuppressionQuery("key-a", Now, ("key-b", ""), 10), CancellationToken.None));
        Assert.Equal(4, (await list.ListAsync(new SuppressionQuery("key-c", Now, ("key-a", "zzz"), 10), CancellationToken.None)).Count);

        var amy = await list.ListAsync(new SuppressionQuery(null, Now, null, 10, "AMY@example.net"), CancellationToken.None);
        Assert.Equal(["key-a", "key-b", "key-c"], amy.Select(e => e.Owner));
        Assert.Single(await list.ListAsync(new SuppressionQuery("key-b", Now, null, 10, "amy@example.net"), CancellationToken.None));
    }

    [Theory]
    [InlineData("key/1#?\\", "a/b#c?d\\e@example.net")]
    [InlineData("key\u0001\u007f\u0085", "tab\there@example.net")]
    [InlineData("k'ey' or PartitionKey ne '", "o'brien+tag%25~7E@example.net")]
    [InlineData("ключ", "δοκιμή@παράδειγμα.δοκιμή")]
    public async Task Keys_and_addresses_with_characters_Table_keys_refuse_round_trip(string owner, string address)
    {
        var list = await NewListAsync();
        await list.AddAsync(Entry(owner, address, detail: "x"), CancellationToken.None);
        await list.AddAsync(Entry("plain", "plain@example.net"), CancellationToken.None);

        Assert.Equal([address], await list.FindAsync(owner, [address], Now, CancellationToken.None));
        var listed = Assert.Single(await list.ListAsync(new SuppressionQuery(owner, Now, null, 10), CancellationToken.None));
        Assert.Equal((owner, SuppressionAddress.Normalize(address)), (listed.Owner, listed.Address));
        Assert.Single(await list.ListAsync(new SuppressionQuery(null, Now, null, 10, address), CancellationToken.None));
        Assert.Equal(2, (await list.ListAsync(new SuppressionQuery(null, Now, null, 10), CancellationToken.None)).Count);
        Assert.True(await list.RemoveAsync(owner, address, CancellationToken.None));
        Assert.Empty(await list.FindAsync(owner, [address], Now, CancellationToken.None));
    }

    [Fact]
    public void The_key_escape_is_reversible_and_leaves_only_allowed_characters()
    {
        var text = string.Concat(Enumerable.Range(0, 0x200).Select(i => (char)i)) + "~7E~";
        var key = TableKey.Escape(text);

        Assert.Equal(text, TableKey.Unescape(key));
        Assert.DoesNotContain(key, c => c is '/' or '\\' or '#' or '?' or '%' or '+' || char.IsControl(c));
        Assert.Equal("bob@example.net", TableKey.Escape("bob@example.net"));
    }

    [Fact]
    public async Task The_detail_is_kept_clean_and_bounded()
    {
        var list = await NewListAsync();
        await list.AddAsync(Entry("key-1", "bob@example.net", detail: "line\r\none" + new string('x', 2000)), CancellationToken.None);

        var entry = Assert.Single(await list.ListAsync(new SuppressionQuery("key-1", Now, null, 10), CancellationToken.None));

        Assert.Equal(SuppressionAddress.MaxDetailLength, entry.Detail!.Length);
        Assert.StartsWith("line  one", entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_table_service_that_does_not_answer_fails_every_operation_with_the_sdk_error()
    {
        var list = Unreachable();

        await Assert.ThrowsAnyAsync<RequestFailedException>(() => list.FindAsync("key-1", ["bob@example.net"], Now, CancellationToken.None));
        await Assert.ThrowsAnyAsync<RequestFailedException>(() => list.AddAsync(Entry("key-1", "bob@example.net"), CancellationToken.None));
        await Assert.ThrowsAnyAsync<RequestFailedException>(() => list.RemoveAsync("key-1", "bob@example.net", CancellationToken.None));
        await Assert.ThrowsAnyAsync<RequestFailedException>(() => list.ListAsync(new SuppressionQuery(null, Now, null, 10), CancellationToken.None));
    }

    /// <summary>A list on a loopback port nobody listens on, without SDK retries.</summary>
    internal static TableSuppressionList Unreachable()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 0;
        var service = new TableServiceClient(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
            options);
        return new TableSuppressionList(service, Options.Create(new AzureStorageOptions { SuppressionTable = "Suppressions" }));
    }
}
