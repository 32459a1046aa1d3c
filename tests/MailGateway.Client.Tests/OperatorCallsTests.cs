namespace MailGateway.Client.Tests;

/// <summary>The client's list and cancel calls against a real standalone gateway.</summary>
public sealed class OperatorCallsTests
{
    [Fact]
    public async Task A_scheduled_message_is_listed_canceled_and_a_second_cancel_is_a_409_exception()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();
        var accepted = await client.Messages.SendAsync(new EmailMessage
        {
            From = "app@example.com",
            To = { "rcpt@example.net" },
            Text = "later",
            Tags = { "digest" },
            SendAt = DateTimeOffset.UtcNow.AddHours(1),
        });

        var page = await client.Messages.ListAsync(new MessageListQuery { Status = MessageStatus.Scheduled, Tag = "digest", Since = DateTimeOffset.UtcNow.AddHours(-1), Limit = 10 });
        var canceled = await client.Messages.CancelAsync(accepted.Id);
        var again = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.CancelAsync(accepted.Id));
        var after = await client.Messages.ListAsync(new MessageListQuery { Status = MessageStatus.Canceled });

        var item = Assert.Single(page.Items);
        Assert.Equal((accepted.Id, MessageStatus.Scheduled, "rcpt@example.net"), (item.Id, item.Status, item.Recipients.Single()));
        Assert.Null(page.NextCursor);
        Assert.Equal(MessageStatus.Canceled, canceled.Status);
        Assert.True(canceled.Status.IsFinal);
        Assert.Equal(409, again.StatusCode);
        Assert.Equal(accepted.Id, Assert.Single(after.Items).Id);
        Assert.Empty(gateway.Relay!.Messages);
    }

    [Fact]
    public async Task The_cursor_of_a_page_gives_the_next_one()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();
        var sent = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            sent.Add((await client.Messages.SendAsync(new EmailMessage { From = "app@example.com", To = { "rcpt@example.net" }, Text = "x", SendAt = DateTimeOffset.UtcNow.AddHours(1) })).Id);
        }

        var first = await client.Messages.ListAsync(new MessageListQuery { Limit = 2 });
        var second = await client.Messages.ListAsync(new MessageListQuery { Limit = 2, Cursor = first.NextCursor });

        Assert.Equal(2, first.Items.Count);
        Assert.NotNull(first.NextCursor);
        Assert.Single(second.Items);
        Assert.Null(second.NextCursor);
        Assert.Equal(sent.ToHashSet(), first.Items.Concat(second.Items).Select(m => m.Id).ToHashSet());
    }
}
