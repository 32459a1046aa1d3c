using MailGateway.Core.Storage;

namespace MailGateway.Embedded.Tests;

public sealed class FileMessageContentStoreTests : IDisposable
{
    private readonly EmbeddedFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Saved_content_reads_back_byte_identical_and_leaves_no_temp_file()
    {
        var bytes = "Subject: x\r\n\r\n.\r\nbody\r\n"u8.ToArray();

        var reference = await _f.Content.SaveAsync("0123abcd", bytes, CancellationToken.None);
        await using var stream = await _f.Content.OpenReadAsync(reference, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(bytes, copy.ToArray());
        Assert.Matches(@"^2026/11/28/0123abcd\.eml$", reference);
        Assert.DoesNotContain(System.IO.Directory.EnumerateFiles(_f.Options.Value.MessagesPath, "*", SearchOption.AllDirectories), p => p.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("2026/11/28/../../x.eml")]
    [InlineData("/etc/passwd")]
    public async Task References_not_made_by_the_store_are_refused(string reference)
    {
        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => _f.Content.OpenReadAsync(reference, CancellationToken.None));
    }

    [Fact]
    public async Task A_message_id_that_could_escape_the_folder_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _f.Content.SaveAsync("../x", "x"u8.ToArray(), CancellationToken.None));
    }
}
