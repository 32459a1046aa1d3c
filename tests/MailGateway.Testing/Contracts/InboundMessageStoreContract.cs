using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MailGateway.Core.Inbound;
using Xunit;

namespace MailGateway.Testing.Contracts;

/// <summary>What an inbound store holds after the listener is done with it: the .eml and its .json.</summary>
/// <param name="Message">The stored .eml, byte for byte.</param>
/// <param name="Metadata">The stored <c>{id}.json</c>.</param>
public sealed record StoredInboundMessage(byte[] Message, byte[] Metadata);

/// <summary>
/// The contract of <see cref="IInboundMessageStore"/>, run against every adapter (the filesystem store in
/// MailGateway.Listener.Tests, the Blob store on Azurite in MailGateway.AzureAdapters.Tests). A derived class gives a
/// new, empty store per call and a way to read what is visible in it.
/// </summary>
public abstract class InboundMessageStoreContract
{
    /// <summary>Arrival times whose UTC date differs from their local date in some offsets.</summary>
    protected static readonly DateTimeOffset ReceivedAt = new(2026, 11, 28, 23, 30, 0, TimeSpan.FromHours(-2));

    /// <summary>A new store on its own folder or container; not initialised.</summary>
    protected abstract IInboundMessageStore CreateStore();

    /// <summary>Every name visible in the store, relative to its root, with '/' separators (e.g. <c>inbound/2026/11/29/x.eml</c>).</summary>
    protected abstract Task<IReadOnlyList<string>> ListAsync(IInboundMessageStore store);

    /// <summary>The message a commit returned <paramref name="location"/> for, or null when nothing is visible there.</summary>
    protected abstract Task<StoredInboundMessage?> ReadAsync(IInboundMessageStore store, string location);

    /// <summary>A size at which the store writes in more than one piece (the Blob store: more than one block).</summary>
    protected virtual int LargeMessageSize => 300_000;

    [Fact]
    public async Task A_committed_message_is_stored_byte_for_byte_with_its_metadata()
    {
        var store = await InitializedAsync();
        var content = Content(5000);

        var location = await StoreAsync(store, "contract1", content, chunk: 1000);

        var stored = await ReadAsync(store, location);
        Assert.NotNull(stored);
        Assert.Equal(content, stored.Message);
        using var json = JsonDocument.Parse(stored.Metadata);
        Assert.Equal("contract1", json.RootElement.GetProperty("id").GetString());
        Assert.Equal("a@remote.test", json.RootElement.GetProperty("mailFrom").GetString());
        Assert.Equal(["b@example.test", "c@example.test"], json.RootElement.GetProperty("recipients").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(content.Length, json.RootElement.GetProperty("size").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), json.RootElement.GetProperty("sha256").GetString());
        Assert.Equal("<m1@remote.test>", json.RootElement.GetProperty("messageId").GetString());
    }

    [Fact]
    public async Task Messages_are_named_by_their_UTC_arrival_date_and_id()
    {
        var store = await InitializedAsync();

        var location = await StoreAsync(store, "contract-name", Content(100));

        Assert.EndsWith("inbound/2026/11/29/contract-name.eml", location.Replace('\\', '/'), StringComparison.Ordinal);
        Assert.Equal(["inbound/2026/11/29/contract-name.eml", "inbound/2026/11/29/contract-name.json"], (await ListAsync(store)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Nothing_is_visible_before_the_commit_and_nothing_stays_without_one()
    {
        var store = await InitializedAsync();
        var writer = await store.CreateWriterAsync("contract-uncommitted", ReceivedAt, CancellationToken.None);
        await writer.WriteAsync(Content(LargeMessageSize), CancellationToken.None);

        Assert.DoesNotContain(await ListAsync(store), n => n.EndsWith(".eml", StringComparison.Ordinal) || n.EndsWith(".json", StringComparison.Ordinal));
        writer.Dispose();

        Assert.Empty(await ListAsync(store));
    }

    [Fact]
    public async Task A_large_message_written_in_small_pieces_is_stored_byte_for_byte()
    {
        var store = await InitializedAsync();
        var content = Content(LargeMessageSize);

        var location = await StoreAsync(store, "contract-large", content, chunk: 8192);

        Assert.Equal(content, (await ReadAsync(store, location))?.Message);
    }

    [Fact]
    public async Task Concurrent_commits_are_all_stored()
    {
        var store = await InitializedAsync();

        var locations = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => StoreAsync(store, "contract-c" + i, Content(1000 + i))));

        for (var i = 0; i < locations.Length; i++)
        {
            Assert.Equal(Content(1000 + i), (await ReadAsync(store, locations[i]))?.Message);
        }

        Assert.Equal(32, (await ListAsync(store)).Count);
    }

    [Fact]
    public async Task A_second_commit_of_the_same_id_fails_and_keeps_the_first_message()
    {
        var store = await InitializedAsync();
        var first = Content(700);
        var location = await StoreAsync(store, "contract-dup", first);

        await Assert.ThrowsAnyAsync<Exception>(() => StoreAsync(store, "contract-dup", Content(900)));

        Assert.Equal(first, (await ReadAsync(store, location))?.Message);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("id with space")]
    public async Task An_id_that_is_not_a_safe_name_is_refused(string id)
    {
        var store = await InitializedAsync();

        await Assert.ThrowsAsync<ArgumentException>(async () => (await store.CreateWriterAsync(id, ReceivedAt, CancellationToken.None)).Dispose());
        Assert.Empty(await ListAsync(store));
    }

    [Fact]
    public async Task The_store_is_ready_once_initialised()
    {
        var store = CreateStore();
        Assert.False(await store.IsReadyAsync(CancellationToken.None));

        await store.InitializeAsync(CancellationToken.None);

        Assert.True(await store.IsReadyAsync(CancellationToken.None));
    }

    private async Task<IInboundMessageStore> InitializedAsync()
    {
        var store = CreateStore();
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    /// <summary>Stores <paramref name="content"/> as the listener does: pieces, then a commit with the metadata.</summary>
    protected static async Task<string> StoreAsync(IInboundMessageStore store, string id, byte[] content, int chunk = 4096)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(content);
        using var writer = await store.CreateWriterAsync(id, ReceivedAt, CancellationToken.None);
        for (var offset = 0; offset < content.Length; offset += chunk)
        {
            await writer.WriteAsync(content.AsMemory(offset, Math.Min(chunk, content.Length - offset)), CancellationToken.None);
        }

        return await writer.CommitAsync(new InboundMessageMetadata
        {
            Id = id,
            ReceivedAt = ReceivedAt,
            MailFrom = "a@remote.test",
            Recipients = ["b@example.test", "c@example.test"],
            ClientIp = "127.0.0.1",
            ClientHelo = "client.test",
            Tls = true,
            TlsProtocol = "Tls13",
            Size = content.Length,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(content)),
            MessageId = "<m1@remote.test>",
        }, CancellationToken.None);
    }

    /// <summary>A message of <paramref name="size"/> bytes with CRLF lines.</summary>
    protected static byte[] Content(int size)
    {
        var text = new StringBuilder("Received: from client.test\r\nMessage-ID: <m1@remote.test>\r\nSubject: contract\r\n\r\n");
        for (var i = 0; text.Length < size; i++)
        {
            text.Append("line ").Append(i).Append(' ').Append((char)('a' + (i % 26)), 60).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString(0, size));
    }
}
