using MailGateway.Core.Messages;
using MailGateway.Core.Status;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing.Contracts;

/// <summary>The operator's side of a status store as the contract suite drives it.</summary>
public interface IOperationsUnderTest : IAsyncDisposable
{
    /// <summary>The status port (records are created through it).</summary>
    IMessageStatusStore Store { get; }

    /// <summary>The port under test.</summary>
    IMessageOperations Operations { get; }

    /// <summary>The store's clock.</summary>
    FakeTimeProvider Time { get; }
}

/// <summary>
/// The semantics of <see cref="IMessageOperations"/> that the SQLite and the Table store share: the newest-first
/// order with keyset pages (ties on the creation millisecond broken by id), every filter, and a cancel that only a
/// cancelable state allows and that a worker's begin-sending step cannot also win.
/// </summary>
public abstract class MessageOperationsContract
{
    /// <summary>The start of every test's clock.</summary>
    protected static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A fresh, empty store.</summary>
    protected abstract Task<IOperationsUnderTest> CreateAsync();

    private static MessageRecord Record(string id, DateTimeOffset at, MessageState state = MessageState.Queued, string owner = "key-1",
        string[]? tags = null, string from = "app@example.com", string to = "b@example.net") => new()
    {
        Id = id,
        Owner = owner,
        State = state,
        CreatedAt = at,
        UpdatedAt = at,
        NextAttemptAt = state is MessageState.Scheduled or MessageState.Deferred ? at.AddMinutes(5) : null,
        Tags = tags ?? [],
        ContentReference = "ref-" + id,
        Envelope = new Envelope(from, [to]),
    };

    private static string Id(int i) => $"m{i:D3}" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task The_list_is_newest_first_and_its_cursor_walks_every_record_once()
    {
        await using var under = await CreateAsync();
        var records = new List<MessageRecord>();
        for (var i = 0; i < 7; i++)
        {
            // Two records per millisecond: the id breaks the tie.
            records.Add(Record(Id(i), Start.AddMilliseconds(i / 2)));
        }

        foreach (var record in records)
        {
            await under.Store.CreateAsync(record, null, CancellationToken.None);
        }

        var expected = records.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id, StringComparer.Ordinal).Select(r => r.Id).ToList();
        var walked = new List<string>();
        MessageCursor? cursor = null;
        var pages = 0;
        do
        {
            var page = await under.Operations.ListAsync(new MessageQuery { Limit = 3, After = cursor }, CancellationToken.None);
            walked.AddRange(page.Items.Select(r => r.Id));
            cursor = page.Next is { } next && MessageCursor.TryDecode(next.Encode(), out var decoded) ? decoded : null;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(expected, walked);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task The_list_filters_by_owner_state_tag_recipient_sender_and_time()
    {
        await using var under = await CreateAsync();
        var a = Record(Id(1), Start, MessageState.Delivered, tags: ["welcome"]);
        var b = Record(Id(2), Start.AddMinutes(1), MessageState.Scheduled, owner: "key-2", to: "Someone@Example.net");
        var c = Record(Id(3), Start.AddMinutes(2), MessageState.Delivered, from: "news@example.com");
        foreach (var record in new[] { a, b, c })
        {
            await under.Store.CreateAsync(record, null, CancellationToken.None);
        }

        async Task<List<string>> Ids(MessageQuery query) => [.. (await under.Operations.ListAsync(query, CancellationToken.None)).Items.Select(r => r.Id)];

        Assert.Equal([c.Id, b.Id, a.Id], await Ids(new MessageQuery()));
        Assert.Equal([c.Id, a.Id], await Ids(new MessageQuery { Owner = "key-1" }));
        Assert.Equal([c.Id, a.Id], await Ids(new MessageQuery { State = MessageState.Delivered }));
        Assert.Equal([a.Id], await Ids(new MessageQuery { Tag = "welcome" }));
        Assert.Equal([b.Id], await Ids(new MessageQuery { Recipient = "someone@example.NET" }));
        Assert.Equal([c.Id], await Ids(new MessageQuery { From = "NEWS@example.com" }));
        Assert.Equal([b.Id], await Ids(new MessageQuery { Since = Start.AddMinutes(1), Until = Start.AddMinutes(2) }));
        Assert.Empty(await Ids(new MessageQuery { Owner = "key-2", State = MessageState.Delivered }));
    }

    [Fact]
    public async Task The_address_filters_compare_any_letter_case_insensitively_and_IDN_domains_in_either_form()
    {
        await using var under = await CreateAsync();
        var idn = Record(Id(1), Start, to: "Ann@Bücher.Example", from: "Shop@XN--BCHER-KVA.example");
        var composed = Record(Id(2), Start.AddMinutes(1), to: "jos\u00E9@example.net");
        foreach (var record in new[] { idn, composed })
        {
            await under.Store.CreateAsync(record, null, CancellationToken.None);
        }

        async Task<List<string>> Ids(MessageQuery query) => [.. (await under.Operations.ListAsync(query, CancellationToken.None)).Items.Select(r => r.Id)];

        Assert.Equal([idn.Id], await Ids(new MessageQuery { Recipient = "ann@xn--bcher-kva.example" }));
        Assert.Equal([idn.Id], await Ids(new MessageQuery { Recipient = "ANN@BÜCHER.example" }));
        Assert.Equal([idn.Id], await Ids(new MessageQuery { From = "shop@bücher.EXAMPLE" }));
        Assert.Equal([composed.Id], await Ids(new MessageQuery { Recipient = "JOS\u00C9@example.net" }));
        Assert.Equal([composed.Id], await Ids(new MessageQuery { Recipient = "jos\u00E9@EXAMPLE.net", Owner = "key-1" }));
        Assert.Empty(await Ids(new MessageQuery { Recipient = "jose@example.net" }));
        Assert.Empty(await Ids(new MessageQuery { Recipient = "ann@bucher.example" }));
    }

    [Theory]
    [InlineData(MessageState.Queued)]
    [InlineData(MessageState.Scheduled)]
    [InlineData(MessageState.Deferred)]
    public async Task A_cancelable_message_is_canceled_and_the_worker_then_finds_a_final_state(MessageState state)
    {
        await using var under = await CreateAsync();
        var record = Record(Id(1), Start, state);
        await under.Store.CreateAsync(record, null, CancellationToken.None);
        under.Time.Advance(TimeSpan.FromSeconds(5));

        var result = await under.Operations.CancelAsync(record.Id, "canceled by ops", CancellationToken.None);
        var before = await under.Store.TryBeginSendingAsync(record.Id, CancellationToken.None);

        Assert.Equal(CancelOutcome.Canceled, result.Outcome);
        Assert.Equal(MessageState.Canceled, result.Record!.State);
        var read = (await under.Store.GetAsync(record.Id, CancellationToken.None))!;
        Assert.Equal((MessageState.Canceled, "canceled by ops", (DateTimeOffset?)null, under.Time.GetUtcNow()), (read.State, read.LastReply, read.NextAttemptAt, read.UpdatedAt));
        Assert.True(before!.State.IsFinal());
        Assert.Equal(MessageState.Canceled, (await under.Store.GetAsync(record.Id, CancellationToken.None))!.State);
    }

    [Theory]
    [InlineData(MessageState.Sending)]
    [InlineData(MessageState.Delivered)]
    [InlineData(MessageState.Failed)]
    [InlineData(MessageState.Expired)]
    [InlineData(MessageState.Unknown)]
    [InlineData(MessageState.Canceled)]
    public async Task Any_other_state_is_not_cancelable_and_stays(MessageState state)
    {
        await using var under = await CreateAsync();
        var record = Record(Id(1), Start, state);
        await under.Store.CreateAsync(record, null, CancellationToken.None);

        var result = await under.Operations.CancelAsync(record.Id, "x", CancellationToken.None);

        Assert.Equal(CancelOutcome.NotCancelable, result.Outcome);
        Assert.Equal(state, result.Record!.State);
        Assert.Equal(state, (await under.Store.GetAsync(record.Id, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task Canceling_a_missing_message_is_not_found()
    {
        await using var under = await CreateAsync();

        Assert.Equal(CancelOutcome.NotFound, (await under.Operations.CancelAsync("nothere", "x", CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task A_cancel_and_a_worker_beginning_the_attempt_never_both_win()
    {
        await using var under = await CreateAsync();
        var records = Enumerable.Range(0, 20).Select(i => Record(Id(i), Start.AddMilliseconds(i))).ToList();
        foreach (var record in records)
        {
            await under.Store.CreateAsync(record, null, CancellationToken.None);
        }

        var outcomes = await Task.WhenAll(records.Select(async record =>
        {
            var cancel = Task.Run(() => under.Operations.CancelAsync(record.Id, "race", CancellationToken.None));
            var begin = Task.Run(() => under.Store.TryBeginSendingAsync(record.Id, CancellationToken.None));
            return (Cancel: await cancel, Before: await begin, After: await under.Store.GetAsync(record.Id, CancellationToken.None));
        }));

        Assert.All(outcomes, o =>
        {
            if (o.Cancel.Outcome == CancelOutcome.Canceled)
            {
                // The worker came second: it found a final state and sends nothing.
                Assert.Equal(MessageState.Canceled, o.Before!.State);
                Assert.Equal(MessageState.Canceled, o.After!.State);
            }
            else
            {
                // The worker came first: the cancel found it sending.
                Assert.Equal(CancelOutcome.NotCancelable, o.Cancel.Outcome);
                Assert.Equal(MessageState.Queued, o.Before!.State);
                Assert.Equal(MessageState.Sending, o.After!.State);
            }
        });
    }
}
