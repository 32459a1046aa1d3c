using MailGateway.Core.Status;
using MailGateway.Core.Storage;

namespace MailGateway.Embedded.Tests;

public sealed class SqliteMessageContentStoreTests : IDisposable
{
    private readonly EmbeddedFixture _f = new(sqliteContent: true);

    public void Dispose() => _f.Dispose();

    private async Task<long> ContentRowsAsync()
    {
        await using var connection = await _f.Database.OpenAsync(CancellationToken.None);
        using var command = SqliteMessageStatusStore.Command(connection, null, "SELECT count(*) FROM contents");
        return (long)(await command.ExecuteScalarAsync(CancellationToken.None))!;
    }

    [Fact]
    public async Task Saved_content_reads_back_byte_identical_from_the_database_and_writes_no_file()
    {
        var bytes = "Subject: x\r\n\r\n.\r\nbody\r\n"u8.ToArray();

        var reference = await _f.SqliteContent.SaveAsync("0123abcd", bytes, CancellationToken.None);

        Assert.Equal("db:0123abcd", reference);
        Assert.Equal(bytes, await _f.SqliteContent.ReadAllAsync(reference));
        Assert.Equal(1, await ContentRowsAsync());
        Assert.False(System.IO.Directory.Exists(_f.Options.Value.MessagesPath));
    }

    [Fact]
    public async Task Content_that_fails_its_checksum_is_reported_missing()
    {
        var reference = await _f.SqliteContent.SaveAsync("m1", "Subject: x\r\n\r\nbody\r\n"u8.ToArray(), CancellationToken.None);
        await _f.Database.WriteAsync((connection, transaction) =>
        {
            using var command = SqliteMessageStatusStore.Command(connection, transaction, "UPDATE contents SET mime = $mime", ("$mime", "Subject: y\r\n\r\nbody\r\n"u8.ToArray()));
            return command.ExecuteNonQuery();
        }, CancellationToken.None);

        var error = await Assert.ThrowsAsync<MessageContentNotFoundException>(() => _f.SqliteContent.OpenReadAsync(reference, CancellationToken.None));
        Assert.Contains("integrity", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_save_under_the_same_id_keeps_the_first_content()
    {
        await _f.SqliteContent.SaveAsync("m1", "first"u8.ToArray(), CancellationToken.None);
        var reference = await _f.SqliteContent.SaveAsync("m1", "second"u8.ToArray(), CancellationToken.None);

        Assert.Equal("first"u8.ToArray(), await _f.SqliteContent.ReadAllAsync(reference));
    }

    [Fact]
    public async Task References_of_the_file_store_are_still_read_and_deleted()
    {
        var bytes = "Subject: queued by an older version\r\n\r\nbody\r\n"u8.ToArray();
        var reference = await _f.Content.SaveAsync("old1", bytes, CancellationToken.None);

        Assert.Equal(bytes, await _f.SqliteContent.ReadAllAsync(reference));
        await _f.SqliteContent.DeleteAsync(reference, CancellationToken.None);
        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => _f.Content.OpenReadAsync(reference, CancellationToken.None));
    }

    [Theory]
    [InlineData("db:../x")]
    [InlineData("db:")]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/passwd")]
    public async Task References_not_made_by_either_store_are_refused(string reference)
    {
        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => _f.SqliteContent.OpenReadAsync(reference, CancellationToken.None));
    }

    [Fact]
    public async Task A_message_id_that_is_not_an_id_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _f.SqliteContent.SaveAsync("../x", "x"u8.ToArray(), CancellationToken.None));
    }

    [Fact]
    public async Task Delivered_content_is_deleted_from_the_database()
    {
        var job = await _f.AcceptAsync("m1");
        Assert.Equal("db:m1", job.ContentReference);

        await _f.HandleNextAsync();

        Assert.Equal(MessageState.Delivered, (await _f.Status.GetAsync("m1", CancellationToken.None))!.State);
        Assert.Equal("<m1@example.com>", "<" + ScriptedEngine.MessageIdOf(Assert.Single(_f.Engine.Requests)) + ">");
        Assert.Equal(0, await ContentRowsAsync());
    }
}

/// <summary>The SQLite acceptor beyond the accept-port contract: with content in the database no file is written.</summary>
public sealed class SqliteMessageAcceptorTests : IDisposable
{
    private readonly EmbeddedFixture _f = new(sqliteContent: true);

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task With_content_in_the_database_an_accepted_message_writes_no_file_and_references_its_row()
    {
        var now = _f.Time.GetUtcNow();
        var submission = new Core.Submissions.Submission
        {
            MessageId = "0192f0c0a1b2c3d4e5f60718293a4b5c",
            Owner = "key-1",
            Envelope = new Core.Messages.Envelope("a@example.com", ["b@example.net"]),
            Content = "Subject: x\r\n\r\nbody\r\n"u8.ToArray(),
            AcceptedAt = now,
        };

        var result = await _f.Acceptor.AcceptAsync(submission, CancellationToken.None);

        Assert.Equal(Core.Submissions.AcceptOutcome.Accepted, result.Outcome);
        var job = Assert.Single(await _f.Queue.LeaseAsync(5, TimeSpan.FromMinutes(1), CancellationToken.None)).Job;
        Assert.Equal("db:0192f0c0a1b2c3d4e5f60718293a4b5c", job.ContentReference);
        Assert.False(System.IO.Directory.Exists(_f.Options.Value.MessagesPath));
    }
}
