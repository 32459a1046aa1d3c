using System.Globalization;
using System.Text;
using System.Text.Json;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Submissions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Embedded.Tests;

/// <summary>
/// The list's recipient, tag and sender filters on their index, <c>message_filters</c> (real SQLite files): the same
/// pages as the earlier scan of the records, written with the message rows (status store, accept, batch), removed with
/// them (retention, delete), backfilled once in a database made by the schema before it, scoped to the owner.
/// </summary>
public sealed class SqliteMessageListFilterTests : IDisposable
{
    private static readonly string[] Owners = ["k", "other"];
    private static readonly string[] Addresses = ["Ann@Example.net", "bob@example.net", "ann@example.NET", "carl@example.org", "dora@example.org"];
    private static readonly string[] TagValues = ["welcome", "Welcome", "digest", "x", "y"];
    private static readonly string[] Senders = ["app@example.com", "App@Example.COM", "news@example.com"];

    private readonly EmbeddedFixture _f = new(sqliteContent: true);

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Every_filter_and_combination_gives_the_pages_of_the_earlier_scan_of_the_records()
    {
        await FillAsync(r => ThroughStoreAsync(_f.Status, r), _f.Time.GetUtcNow(), 400);
        // The default, and a probe bound below the rows of each value so that a rare state (failed: 20 rows) is walked
        // by its index with the values looked up per row.
        SqliteMessageOperations[] operations = [new(_f.Database, _f.Time), new(_f.Database, _f.Time) { ProbeLimit = 40 }, new(_f.Database, _f.Time) { ProbeLimit = 1 }];
        var since = _f.Time.GetUtcNow().AddMilliseconds(20);
        var until = _f.Time.GetUtcNow().AddMilliseconds(110);
        var queries = new List<MessageQuery>();
        foreach (var owner in new[] { null, "k" })
        {
            foreach (var recipient in new[] { null, "ANN@example.net", "bob@example.net", "nobody@example.net" })
            {
                foreach (var tag in new[] { null, "welcome", "Welcome", "digest" })
                {
                    foreach (var from in new[] { null, "APP@example.com", "news@example.com" })
                    {
                        queries.Add(new MessageQuery { Owner = owner, Recipient = recipient, Tag = tag, From = from, Limit = 7 });
                    }
                }
            }
        }

        queries.Add(new MessageQuery { Recipient = "carl@example.org", State = MessageState.Delivered, Limit = 5 });
        queries.Add(new MessageQuery { Owner = "other", Tag = "x", State = MessageState.Queued, Since = since, Limit = 3 });
        queries.Add(new MessageQuery { From = "news@example.com", Since = since, Until = until, Limit = 4 });
        queries.Add(new MessageQuery { Recipient = "dora@example.org", Tag = "y", Until = until, Limit = 100 });
        foreach (var state in new[] { MessageState.Failed, MessageState.Delivered, MessageState.Canceled })
        {
            queries.Add(new MessageQuery { Recipient = "ann@example.net", State = state, Limit = 3 });
            queries.Add(new MessageQuery { Tag = "digest", From = "app@example.com", State = state, Owner = "k", Limit = 2 });
            queries.Add(new MessageQuery { From = "news@example.com", State = state, Since = since, Until = until, Limit = 2 });
        }

        var nonEmpty = 0;
        foreach (var query in queries)
        {
            var expected = await WalkAsync(q => EarlierListAsync(_f.Database, q), query);
            foreach (var operation in operations)
            {
                Assert.Equal(expected, await WalkAsync(q => operation.ListAsync(q, CancellationToken.None), query));
            }

            nonEmpty += expected.Count > 0 ? 1 : 0;
        }

        // The comparison is about pages that hold messages, most of them several pages long.
        Assert.True(nonEmpty > queries.Count / 2, $"{nonEmpty} of {queries.Count} queries found messages");
    }

    [Fact]
    public async Task A_recipient_search_of_a_key_finds_only_its_messages_and_an_admin_search_every_keys()
    {
        var now = _f.Time.GetUtcNow();
        await CreateAsync(_f.Status, "mine", "k", now, ["Shared@Example.net"], ["t"], "a@example.com");
        await CreateAsync(_f.Status, "theirs", "other", now.AddMilliseconds(1), ["shared@example.net"], ["t"], "a@example.com");
        var operations = new SqliteMessageOperations(_f.Database, _f.Time);

        foreach (var query in new[]
                 {
                     new MessageQuery { Recipient = "shared@EXAMPLE.net" },
                     new MessageQuery { Tag = "t" },
                     new MessageQuery { From = "A@example.com" },
                 })
        {
            Assert.Equal(["mine"], Ids(await operations.ListAsync(query with { Owner = "k" }, CancellationToken.None)));
            Assert.Equal(["theirs"], Ids(await operations.ListAsync(query with { Owner = "other" }, CancellationToken.None)));
            Assert.Empty(Ids(await operations.ListAsync(query with { Owner = "nobody" }, CancellationToken.None)));
            Assert.Equal(["theirs", "mine"], Ids(await operations.ListAsync(query, CancellationToken.None)));
        }
    }

    [Fact]
    public async Task Canceled_and_expired_messages_stay_listed_until_retention_removes_them_with_their_side_rows()
    {
        var retention = new RetentionOptions { FinalMessages = TimeSpan.FromDays(30) };
        var now = _f.Time.GetUtcNow();
        await CreateAsync(_f.Status, "canceled", "k", now, ["to@example.net", "cc@example.net"], ["a", "b"], "app@example.com");
        await CreateAsync(_f.Status, "expired", "k", now.AddMilliseconds(1), ["to@example.net"], ["a"], "app@example.com");
        await CreateAsync(_f.Status, "deleted", "k", now.AddMilliseconds(2), ["to@example.net"], ["a"], "app@example.com");
        var operations = new SqliteMessageOperations(_f.Database, _f.Time);
        Assert.Equal(CancelOutcome.Canceled, (await operations.CancelAsync("canceled", "no longer wanted", CancellationToken.None)).Outcome);
        await _f.Status.SetStateAsync("expired", MessageState.Expired, "expired", CancellationToken.None);
        Assert.Equal(5L + 3L, await SideRowsAsync(_f.Database, "canceled") + await SideRowsAsync(_f.Database, "expired"));

        // Canceled and expired are states, not deletions: the filters find them as before.
        Assert.Equal(["deleted", "expired", "canceled"], Ids(await operations.ListAsync(new MessageQuery { Recipient = "to@example.net" }, CancellationToken.None)));

        await _f.Status.DeleteAsync("deleted", CancellationToken.None);
        Assert.Equal(0L, await SideRowsAsync(_f.Database, "deleted"));

        _f.Time.Advance(TimeSpan.FromDays(31));
        await CreateAsync(_f.Status, "recent", "k", _f.Time.GetUtcNow(), ["to@example.net"], ["a"], "app@example.com");
        var janitor = new MessageRetentionJanitor(_f.Database, _f.Content, _f.Options, Microsoft.Extensions.Options.Options.Create(retention),
            new StaticOptionsMonitor<DeliveryRetryOptions>(_f.Retry), _f.Time, NullLogger<MessageRetentionJanitor>.Instance);
        var (_, removed) = await janitor.RunOnceAsync(CancellationToken.None);

        Assert.Equal(2, removed);
        Assert.Equal(0L, await SideRowsAsync(_f.Database, "canceled") + await SideRowsAsync(_f.Database, "expired"));
        Assert.Equal(3L, await SideRowsAsync(_f.Database, "recent"));
        Assert.Equal(3L, await CountAsync(_f.Database, "SELECT count(*) FROM message_filters"));
        foreach (var query in new[] { new MessageQuery { Recipient = "to@example.net" }, new MessageQuery { Tag = "a" }, new MessageQuery { From = "app@example.com" } })
        {
            Assert.Equal(["recent"], Ids(await operations.ListAsync(query, CancellationToken.None)));
        }
    }

    [Fact]
    public async Task A_database_made_before_the_side_tables_gets_them_filled_once_at_start()
    {
        var directory = Path.Combine(Path.GetTempPath(), "mgw-list-backfill-" + Guid.NewGuid().ToString("N"));
        var options = Microsoft.Extensions.Options.Options.Create(new EmbeddedStorageOptions { DataDirectory = directory });
        var now = _f.Time.GetUtcNow();
        try
        {
            List<MessageRecord> records;
            using (var old = new SqliteDatabase(options))
            {
                var status = new SqliteMessageStatusStore(old, options, _f.Time);
                await CreateAsync(status, "first", "k", now, ["to@example.net"], ["a"], "app@example.com");
                // The schema of the earlier version: the same without message_filters; then rows as that version wrote them.
                await ExecuteAsync(old, "DROP TABLE message_filters");
                records = await FillAsync(r => AsEarlierVersionAsync(old, r), now.AddMilliseconds(1), 150);
                await AsEarlierVersionAsync(old, Record("second", "k", now.AddSeconds(1), ["To@Example.NET", "other@example.net"], ["a", "b"], "App@example.com"));
                // A row whose record is not JSON does not stop the start (and can still be deleted).
                await ExecuteAsync(old, "INSERT INTO messages (id, owner, state, updated_at, record, created_at) VALUES ('broken', 'k', 'Failed', 0, 'not json', 0)");
                Assert.Equal(0L, await CountAsync(old, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'message\\_filters%' ESCAPE '\\'"));
            }

            SqliteConnection.ClearAllPools();
            using (var restarted = new SqliteDatabase(options))
            {
                var operations = new SqliteMessageOperations(restarted, _f.Time);
                Assert.Equal(["second", "first"], Ids(await operations.ListAsync(new MessageQuery { Recipient = "to@example.net" }, CancellationToken.None)));
                Assert.Equal(["second"], Ids(await operations.ListAsync(new MessageQuery { Tag = "b", From = "app@EXAMPLE.com" }, CancellationToken.None)));
                // (The earlier query stopped at a record that is not JSON with "malformed JSON"; the index does not read records.)
                Assert.Equal(["second", "first"], Ids(await operations.ListAsync(new MessageQuery { Recipient = "to@example.net", Owner = "k" }, CancellationToken.None)));
                await new SqliteMessageStatusStore(restarted, options, _f.Time).DeleteAsync("broken", CancellationToken.None);
                Assert.Equal(0L, await CountAsync(restarted, "SELECT count(*) FROM messages WHERE id = 'broken'"));
                foreach (var query in new[] { new MessageQuery { Recipient = "ann@example.net", Limit = 9 }, new MessageQuery { Tag = "digest", Owner = "k", Limit = 9 }, new MessageQuery { From = "app@example.com", Limit = 9 } })
                {
                    var expected = await WalkAsync(q => EarlierListAsync(restarted, q), query);
                    Assert.NotEmpty(expected);
                    Assert.Equal(expected, await WalkAsync(q => operations.ListAsync(q, CancellationToken.None), query));
                }

                var sideRows = records.Sum(r => r.Envelope!.Recipients.Select(a => a.ToLowerInvariant()).Distinct().Count() + r.Tags.Distinct().Count() + 1);
                Assert.Equal((long)sideRows, await CountAsync(restarted, "SELECT count(*) FROM message_filters") - 3 - 5);

                // Marks the backfill: a side row removed by hand is not put back by the next start.
                await ExecuteAsync(restarted, "DELETE FROM message_filters WHERE id = 'second' AND kind = 't' AND value = 'b'");
            }

            SqliteConnection.ClearAllPools();
            using (var again = new SqliteDatabase(options))
            {
                var operations = new SqliteMessageOperations(again, _f.Time);
                Assert.Empty(Ids(await operations.ListAsync(new MessageQuery { Tag = "b" }, CancellationToken.None)));
                Assert.Equal(["second", "first"], Ids(await operations.ListAsync(new MessageQuery { Tag = "a" }, CancellationToken.None)));
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_accept_and_the_batch_write_the_rows_and_an_item_that_fails_leaves_none()
    {
        var now = _f.Time.GetUtcNow();
        Submission Submission(int i, string to, string tag) => new()
        {
            MessageId = Guid.CreateVersion7(now.AddMilliseconds(i)).ToString("N"),
            Owner = "k",
            Envelope = new Envelope("App@Example.com", [to, "Copy@Example.org"]),
            Content = Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\nbody\r\n"),
            AcceptedAt = now.AddMilliseconds(i),
            Tags = [tag, tag],
        };

        var single = Submission(0, "One@Example.net", "single");
        Assert.Equal(AcceptOutcome.Accepted, (await _f.Acceptor.AcceptAsync(single, CancellationToken.None)).Outcome);
        var batch = Enumerable.Range(1, 4).Select(i => Submission(i, $"b{i}@example.net", "batch")).ToList();
        // The third item of the batch fails inside the transaction (its job is refused): it is rolled back alone.
        await _f.ExecuteAsync($"CREATE TRIGGER refuse_one BEFORE INSERT ON jobs WHEN new.message_id = '{batch[2].MessageId}' BEGIN SELECT RAISE(ABORT, 'refused'); END");
        var results = await _f.Acceptor.AcceptBatchAsync(batch, CancellationToken.None);

        Assert.Equal([AcceptOutcome.Accepted, AcceptOutcome.Accepted, AcceptOutcome.Unavailable, AcceptOutcome.Accepted], results.Select(r => r.Outcome));
        // Two recipients, the sender and one tag (given twice) each: four rows per accepted message, none for the failed one.
        Assert.Equal(4L, await SideRowsAsync(_f.Database, single.MessageId));
        Assert.Equal(0L, await SideRowsAsync(_f.Database, batch[2].MessageId));
        Assert.Equal(16L, await CountAsync(_f.Database, "SELECT count(*) FROM message_filters"));
        var operations = new SqliteMessageOperations(_f.Database, _f.Time);
        Assert.Equal([single.MessageId], Ids(await operations.ListAsync(new MessageQuery { Recipient = "one@example.NET" }, CancellationToken.None)));
        Assert.Equal([batch[3].MessageId, batch[1].MessageId, batch[0].MessageId], Ids(await operations.ListAsync(new MessageQuery { Tag = "batch" }, CancellationToken.None)));
        Assert.Equal(4, (await operations.ListAsync(new MessageQuery { From = "app@example.COM", Owner = "k" }, CancellationToken.None)).Items.Count);
        Assert.Equal(4, (await operations.ListAsync(new MessageQuery { Recipient = "copy@example.org", From = "app@example.com", State = MessageState.Queued }, CancellationToken.None)).Items.Count);
        Assert.Empty((await operations.ListAsync(new MessageQuery { Recipient = "b3@example.net" }, CancellationToken.None)).Items);
    }

    [Fact]
    public async Task Addresses_are_found_in_any_case_of_any_letter_and_with_their_domain_in_Unicode_or_ASCII_form()
    {
        var now = _f.Time.GetUtcNow();
        await CreateAsync(_f.Status, "idn", "k", now, ["Ann@Bücher.Example"], [], "Shop@XN--BCHER-KVA.example");
        await CreateAsync(_f.Status, "nfc", "k", now.AddMilliseconds(1), ["jos\u00E9@example.net"], [], "app@example.com");
        var operations = new SqliteMessageOperations(_f.Database, _f.Time);
        async Task<List<string>> Find(MessageQuery query) => Ids(await operations.ListAsync(query, CancellationToken.None));

        foreach (var spelling in new[] { "ann@bücher.example", "ANN@BÜCHER.EXAMPLE", "ann@xn--bcher-kva.example", "Ann@XN--Bcher-Kva.Example" })
        {
            Assert.Equal(["idn"], await Find(new MessageQuery { Recipient = spelling }));
        }

        Assert.Equal(["idn"], await Find(new MessageQuery { From = "shop@bücher.example" }));
        Assert.Equal(["nfc"], await Find(new MessageQuery { Recipient = "JOS\u00C9@example.net" }));
        Assert.Equal(["nfc"], await Find(new MessageQuery { Recipient = "jos\u00E9@EXAMPLE.net", Owner = "k" }));
        Assert.Empty(await Find(new MessageQuery { Recipient = "jose@example.net" }));
        Assert.Empty(await Find(new MessageQuery { Recipient = "ann@bucher.example" }));
    }

    [Fact]
    public async Task Tags_are_exact_and_a_repeated_value_in_one_message_lists_it_once()
    {
        var now = _f.Time.GetUtcNow();
        await CreateAsync(_f.Status, "lower", "k", now, ["to@example.net", "TO@example.net"], ["welcome", "welcome"], "app@example.com");
        await CreateAsync(_f.Status, "upper", "k", now.AddMilliseconds(1), ["to@example.net"], ["Welcome"], "app@example.com");
        var operations = new SqliteMessageOperations(_f.Database, _f.Time);

        Assert.Equal(["lower"], Ids(await operations.ListAsync(new MessageQuery { Tag = "welcome" }, CancellationToken.None)));
        Assert.Equal(["upper"], Ids(await operations.ListAsync(new MessageQuery { Tag = "Welcome" }, CancellationToken.None)));
        Assert.Empty(Ids(await operations.ListAsync(new MessageQuery { Tag = "WELCOME" }, CancellationToken.None)));
        Assert.Equal(["upper", "lower"], Ids(await operations.ListAsync(new MessageQuery { Recipient = "to@example.net" }, CancellationToken.None)));
        Assert.Equal(3L, await SideRowsAsync(_f.Database, "lower"));
    }

    [Fact]
    public async Task A_filtered_page_is_a_range_of_an_index_with_the_cursor_as_its_bound_and_no_sort()
    {
        await CreateAsync(_f.Status, "m", "k", _f.Time.GetUtcNow(), ["to@example.net"], ["a"], "app@example.com");
        var cursor = new MessageCursor(5, "z");
        foreach (var (query, drive, walk) in new[]
                 {
                     (new MessageQuery { Recipient = "to@example.net", After = cursor }, 0, "SEARCH f USING PRIMARY KEY"),
                     (new MessageQuery { Tag = "a", Owner = "k", State = MessageState.Queued, After = cursor }, 0, "SEARCH f USING COVERING INDEX message_filters_owner"),
                     (new MessageQuery { From = "app@example.com", Recipient = "to@example.net", Since = _f.Time.GetUtcNow().AddDays(-1), After = cursor }, 1, "SEARCH f USING PRIMARY KEY"),
                     (new MessageQuery { From = "app@example.com", State = MessageState.Failed, After = cursor }, -1, "SEARCH m USING INDEX messages_state_created"),
                 })
        {
            var (sql, parameters) = SqliteMessageOperations.ListSql(query, SqliteMessageOperations.FiltersOf(query), drive, 50);
            await using var connection = await _f.Database.OpenAsync(CancellationToken.None);
            using var command = SqliteMessageStatusStore.Command(connection, null, "EXPLAIN QUERY PLAN " + sql, parameters);
            var plan = new List<string>();
            using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    plan.Add(reader.GetString(3));
                }
            }

            var steps = string.Join(" | ", plan);
            Assert.True(plan[0].StartsWith(walk, StringComparison.Ordinal) && plan[0].Contains("created_at", StringComparison.Ordinal) && plan[0].Contains('<', StringComparison.Ordinal), steps);
            Assert.DoesNotContain(plan, p => p.Contains("TEMP B-TREE", StringComparison.Ordinal) || p.StartsWith("SCAN", StringComparison.Ordinal));
        }
    }

    private static List<string> Ids(MessagePage page) => [.. page.Items.Select(r => r.Id)];

    /// <summary>Every page of <paramref name="query"/>, following the cursor: each page's ids and its next cursor.</summary>
    private static async Task<List<string>> WalkAsync(Func<MessageQuery, Task<MessagePage>> list, MessageQuery query)
    {
        var pages = new List<string>();
        for (var page = await list(query); ; page = await list(query with { After = page.Next }))
        {
            pages.Add(string.Join(",", page.Items.Select(r => r.Id)) + " -> " + page.Next?.Encode());
            if (page.Next is null)
            {
                return pages;
            }
        }
    }

    /// <summary>The list query of the earlier version (the filters checked on each record's JSON), to compare with.</summary>
    private static async Task<MessagePage> EarlierListAsync(SqliteDatabase database, MessageQuery query)
    {
        var where = new List<string>();
        await using var connection = await database.OpenAsync(CancellationToken.None);
        using var command = connection.CreateCommand();
        void Add(string condition, string name, object value)
        {
            where.Add(condition);
            command.Parameters.AddWithValue(name, value);
        }

        if (query.Owner is { } owner)
        {
            Add("owner = $owner", "$owner", owner);
        }

        if (query.State is { } state)
        {
            Add("state = $state", "$state", state.ToString());
        }

        if (query.Since is { } since)
        {
            Add("created_at >= $since", "$since", since.ToUnixTimeMilliseconds());
        }

        if (query.Until is { } until)
        {
            Add("created_at < $until", "$until", until.ToUnixTimeMilliseconds());
        }

        if (query.After is { } after)
        {
            Add("(created_at, id) < ($afterCreated, $afterId)", "$afterCreated", after.CreatedAtMs);
            command.Parameters.AddWithValue("$afterId", after.Id);
        }

        if (query.Tag is { } tag)
        {
            Add("EXISTS (SELECT 1 FROM json_each(record, '$.tags') WHERE value = $tag)", "$tag", tag);
        }

        if (query.Recipient is { } recipient)
        {
            Add("EXISTS (SELECT 1 FROM json_each(record, '$.envelope.recipients') WHERE lower(value) = $recipient)", "$recipient", recipient.ToLowerInvariant());
        }

        if (query.From is { } from)
        {
            Add("lower(json_extract(record, '$.envelope.mailFrom')) = $from", "$from", from.ToLowerInvariant());
        }


        var sql = new StringBuilder("SELECT record FROM messages");
        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where);
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY created_at DESC, id DESC LIMIT {query.Limit + 1}");
        command.CommandText = sql.ToString();
        var items = new List<MessageRecord>();
        using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(JsonSerializer.Deserialize(reader.GetString(0), EmbeddedJsonContext.Default.MessageRecord)!);
            }
        }

        if (items.Count <= query.Limit)
        {
            return new MessagePage(items, null);
        }

        items.RemoveAt(query.Limit);
        return new MessagePage(items, MessageCursor.Of(items[^1]));
    }

    /// <summary>Messages with random recipients (some twice in one message, in another case), tags, senders, keys and states; three per millisecond.</summary>
    private static async Task<List<MessageRecord>> FillAsync(Func<MessageRecord, Task> create, DateTimeOffset start, int count)
    {
        var random = new Random(14);
        var records = new List<MessageRecord>();
        for (var i = 0; i < count; i++)
        {
            var recipients = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Addresses[random.Next(Addresses.Length)]).ToArray();
            var tags = Enumerable.Range(0, random.Next(0, 3)).Select(_ => TagValues[random.Next(TagValues.Length)]).Distinct().ToArray();
            var record = Record($"m{random.Next(100_000):D5}-{i:D4}", Owners[random.Next(Owners.Length)], start.AddMilliseconds(i / 3),
                recipients, tags, Senders[random.Next(Senders.Length)], i % 20 == 0 ? MessageState.Failed : random.Next(3) == 0 ? MessageState.Delivered : MessageState.Queued);
            await create(record);
            records.Add(record);
        }

        return records;
    }

    private static MessageRecord Record(string id, string owner, DateTimeOffset created, string[] recipients, string[] tags, string from, MessageState state = MessageState.Queued) => new()
    {
        Id = id,
        Owner = owner,
        State = state,
        CreatedAt = created,
        UpdatedAt = created,
        Tags = tags,
        Envelope = new Envelope(from, recipients),
    };

    private static async Task<MessageRecord> CreateAsync(SqliteMessageStatusStore status, string id, string owner, DateTimeOffset created, string[] recipients, string[] tags, string from, MessageState state = MessageState.Queued)
    {
        var record = Record(id, owner, created, recipients, tags, from, state);
        await ThroughStoreAsync(status, record);
        return record;
    }

    private static async Task ThroughStoreAsync(SqliteMessageStatusStore status, MessageRecord record) =>
        Assert.True((await status.CreateAsync(record, null, CancellationToken.None)).Created);

    /// <summary>The row as the version before the index wrote it: the record's JSON and its columns, nothing else.</summary>
    private static Task AsEarlierVersionAsync(SqliteDatabase database, MessageRecord record) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO messages (id, owner, state, updated_at, record, created_at) VALUES ($id, $owner, $state, $updated, $record, $created)";
            command.Parameters.AddWithValue("$id", record.Id);
            command.Parameters.AddWithValue("$owner", record.Owner);
            command.Parameters.AddWithValue("$state", record.State.ToString());
            command.Parameters.AddWithValue("$updated", record.UpdatedAt.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(record, EmbeddedJsonContext.Default.MessageRecord));
            command.Parameters.AddWithValue("$created", record.CreatedAt.ToUnixTimeMilliseconds());
            return command.ExecuteNonQuery();
        }, CancellationToken.None);

    private static Task<long> SideRowsAsync(SqliteDatabase database, string id) =>
        CountAsync(database, "SELECT count(*) FROM message_filters WHERE id = $id", id);

    private static async Task<long> CountAsync(SqliteDatabase database, string sql, string? id = null)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (id is not null)
        {
            command.Parameters.AddWithValue("$id", id);
        }

        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static Task ExecuteAsync(SqliteDatabase database, string sql) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            return command.ExecuteNonQuery();
        }, CancellationToken.None);
}
