using System.Text;
using MailGateway.Core.Storage;

namespace MailGateway.Testing.Contracts;

/// <summary>
/// The semantics of the claim-check port that the file, SQLite and Blob stores share: bytes back exactly as saved,
/// delete (twice is fine), and no reference the store did not make ever opens anything.
/// </summary>
public abstract class MessageContentStoreContract
{
    /// <summary>A message with a line that is only a dot, and CRLF line endings: stored bytes are never rewritten.</summary>
    protected static readonly byte[] Mime = Encoding.ASCII.GetBytes("From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n\r\n.\r\nhello\r\n");

    /// <summary>A fresh, empty store.</summary>
    protected abstract Task<IMessageContentStore> CreateAsync();

    [Fact]
    public async Task Saved_content_reads_back_byte_for_byte()
    {
        var store = await CreateAsync();

        var reference = await store.SaveAsync("0192f0c0a1b2c3d4e5f60718293a4b5c", Mime, CancellationToken.None);

        Assert.Equal(Mime, await store.ReadAllAsync(reference));
    }

    [Fact]
    public async Task Contents_of_different_messages_are_kept_apart()
    {
        var store = await CreateAsync();
        var other = Encoding.ASCII.GetBytes("Subject: other\r\n\r\nbody\r\n");

        var first = await store.SaveAsync("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Mime, CancellationToken.None);
        var second = await store.SaveAsync("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", other, CancellationToken.None);

        Assert.NotEqual(first, second);
        Assert.Equal(Mime, await store.ReadAllAsync(first));
        Assert.Equal(other, await store.ReadAllAsync(second));
    }

    [Fact]
    public async Task Deleted_content_is_not_found_and_deleting_twice_is_fine()
    {
        var store = await CreateAsync();
        var reference = await store.SaveAsync("0192f0c0a1b2c3d4e5f60718293a4b5c", Mime, CancellationToken.None);

        await store.DeleteAsync(reference, CancellationToken.None);
        await store.DeleteAsync(reference, CancellationToken.None);

        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => store.OpenReadAsync(reference, CancellationToken.None));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("2026/11/28/../../x.eml")]
    [InlineData("")]
    public async Task A_reference_the_store_did_not_make_opens_nothing(string reference)
    {
        var store = await CreateAsync();
        await store.SaveAsync("0192f0c0a1b2c3d4e5f60718293a4b5c", Mime, CancellationToken.None);

        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => store.OpenReadAsync(reference, CancellationToken.None));
    }

    [Fact]
    public async Task The_store_is_ready()
    {
        var store = await CreateAsync();

        Assert.True(await store.IsReadyAsync(CancellationToken.None));
    }
}
