using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;

namespace MailGateway.Embedded.Tests;

public sealed class SqliteMessageContentStoreTests : IDisposable
{
    private readonly EmbeddedFixture _f = new(sqliteContent: true);

    public void Dispose() => _f.Dispose();

    private static async Task<byte[]> ReadAllAsync(IMessageContentStore store, string reference)
    {
        await using var stream = await store.OpenReadAsync(reference, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

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
        Assert.Equal(bytes, await ReadAllAsync(_f.SqliteContent, reference));
        Assert.Equal(1, await ContentRowsAsync());
        Assert.False(System.IO.Directory.Exists(_f.Options.Value.MessagesPath));
    }

    [Fact]
    public async Task Deleted_content_is_reported_missing_and_a_second_delete_is_not_an_error()
    {
        var reference = await _f.SqliteContent.SaveAsync("m1", "x"u8.ToArray(), CancellationToken.None);

        await _f.SqliteContent.DeleteAsync(reference, CancellationToken.None);
        await _f.SqliteContent.DeleteAsync(reference, CancellationToken.None);

        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => _f.SqliteContent.OpenReadAsync(reference, CancellationToken.None));
        Assert.Equal(0, await ContentRowsAsync());
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

        Assert.Equal("first"u8.ToArray(), await ReadAllAsync(_f.SqliteContent, reference));
    }

    [Fact]
    public async Task References_of_the_file_store_are_still_read_and_deleted()
    {
        var bytes = "Subject: queued by an older version\r\n\r\nbody\r\n"u8.ToArray();
        var reference = await _f.Content.SaveAsync("old1", bytes, CancellationToken.None);

        Assert.Equal(bytes, await ReadAllAsync(_f.SqliteContent, reference));
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

public sealed class SqliteMessageIntakeContentTests : IDisposable
{
    private readonly EmbeddedFixture _f = new(sqliteContent: true);

    public void Dispose() => _f.Dispose();

    private SqliteMessageIntake Intake() => new(_f.Database, _f.Status, _f.Queue, _f.Time, _f.SqliteContent);

    private (MessageRecord, DeliveryJob) Message(string id) => (
        new MessageRecord { Id = id, Owner = "key1", State = MessageState.Queued, CreatedAt = _f.Time.GetUtcNow(), UpdatedAt = _f.Time.GetUtcNow() },
        new DeliveryJob { MessageId = id, ContentReference = "db:" + id, MailFrom = "a@example.com", Recipients = ["b@example.net"], FirstSeen = _f.Time.GetUtcNow() });

    private static byte[] Mime(string id) => System.Text.Encoding.ASCII.GetBytes("Message-ID: <" + id + "@example.com>\r\nSubject: x\r\n\r\nbody\r\n");

    private async Task<bool> HasContentAsync(string id)
    {
        try
        {
            await using var stream = await _f.SqliteContent.OpenReadAsync("db:" + id, CancellationToken.None);
            return true;
        }
        catch (MessageContentNotFoundException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Stores_the_content_records_the_message_and_enqueues_its_job_in_one_step()
    {
        var intake = Intake();
        var (record, job) = Message("m1");
        Assert.Equal("db:m1", intake.ContentReferenceFor("m1"));

        var result = await intake.CreateAndEnqueueAsync(record, null, job, null, Mime("m1"), CancellationToken.None);

        Assert.True(result.Created);
        Assert.Equal(MessageState.Queued, (await _f.Status.GetAsync("m1", CancellationToken.None))!.State);
        var leased = Assert.Single(await _f.Queue.LeaseAsync(5, TimeSpan.FromMinutes(1), CancellationToken.None));
        await using var stream = await _f.SqliteContent.OpenReadAsync(leased.Job.ContentReference, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(Mime("m1"), copy.ToArray());
    }

    [Fact]
    public async Task A_failing_transaction_leaves_neither_record_job_nor_content()
    {
        var intake = Intake();
        var (record, job) = Message("m1");

        // The job insert fails after the record and the content were written in the same transaction.
        await _f.Database.WriteAsync((connection, transaction) =>
        {
            using var command = SqliteMessageStatusStore.Command(connection, transaction,
                "CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'queue refuses'); END");
            return command.ExecuteNonQuery();
        }, CancellationToken.None);

        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() =>
            intake.CreateAndEnqueueAsync(record, null, job, null, Mime("m1"), CancellationToken.None));

        Assert.Null(await _f.Status.GetAsync("m1", CancellationToken.None));
        Assert.Equal((0, 0), await _f.Queue.CountAsync(CancellationToken.None));
        Assert.False(await HasContentAsync("m1"));
    }

    [Fact]
    public async Task A_repeated_idempotency_key_stores_no_content_and_enqueues_nothing()
    {
        var intake = Intake();
        var claim = new IdempotencyClaim("key1", "k", "hash", _f.Time.GetUtcNow());
        var (first, firstJob) = Message("m1");
        var (second, secondJob) = Message("m2");

        await intake.CreateAndEnqueueAsync(first, claim, firstJob, null, Mime("m1"), CancellationToken.None);
        var again = await intake.CreateAndEnqueueAsync(second, claim, secondJob, null, Mime("m2"), CancellationToken.None);

        Assert.Equal((false, "m1"), (again.Created, again.MessageId));
        Assert.True(await HasContentAsync("m1"));
        Assert.False(await HasContentAsync("m2"));
        Assert.Equal((1, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_job_that_does_not_reference_the_stored_content_is_refused()
    {
        var (record, job) = Message("m1");

        await Assert.ThrowsAsync<ArgumentException>(() =>
            Intake().CreateAndEnqueueAsync(record, null, job with { ContentReference = "2026/11/28/m1.eml" }, null, Mime("m1"), CancellationToken.None));

        Assert.Null(await _f.Status.GetAsync("m1", CancellationToken.None));
    }

    [Fact]
    public async Task Without_the_sqlite_content_store_the_intake_stores_no_content()
    {
        var intake = new SqliteMessageIntake(_f.Database, _f.Status, _f.Queue, _f.Time);
        var (record, job) = Message("m1");

        Assert.Null(intake.ContentReferenceFor("m1"));
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            intake.CreateAndEnqueueAsync(record, null, job, null, Mime("m1"), CancellationToken.None));
    }
}
