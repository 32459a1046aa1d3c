using System.Collections.Concurrent;
using MailGateway.Client.Webhooks;
using MailGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MailGateway.Client.Tests;

/// <summary>The client's batch, paging, event, webhook and dead-letter calls against a real standalone gateway.</summary>
public sealed class ResourceCallsTests
{
    private static EmailMessage Message(string to = "rcpt@example.net", string subject = "Hello", DateTimeOffset? sendAt = null) =>
        new() { From = "app@example.com", To = { to }, Subject = subject, Text = "x", SendAt = sendAt };

    private static async Task<MessageDetails> WaitForAsync(MailGatewayClient client, string id, MessageStatus status) =>
        await Poll.UntilAsync(() => client.Messages.GetAsync(id), m => m.Status == status, m => $"{id} is {m.Status}, not {status}");

    [Fact]
    public async Task SendBatchAsync_answers_one_result_per_message_a_refusal_does_not_refuse_the_others_and_a_repeat_is_idempotent()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();
        var batch = new List<BatchMessage>
        {
            new() { Message = Message(subject: "first"), IdempotencyKey = "batch-order-1" },
            new() { Message = Message(to: "not-an-address") },
            new() { Message = new EmailMessage { From = "app@other.example", To = { "rcpt@example.net" }, Text = "x" } },
            new() { Message = Message(sendAt: DateTimeOffset.UtcNow.AddHours(1)) },
        };

        var result = await client.Messages.SendBatchAsync(batch);
        var repeat = await client.Messages.SendBatchAsync([batch[0]]);
        var simple = await client.Messages.SendBatchAsync([Message(subject: "plain list")]);
        var empty = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendBatchAsync(Array.Empty<EmailMessage>()));

        Assert.Equal((2, 2), (result.Accepted, result.Refused));
        Assert.Equal([202, 400, 403, 202], result.Results.Select(r => r.Status));
        Assert.Equal("batch-order-1", result.Results[0].IdempotencyKey);
        Assert.All(result.Results, r => Assert.NotEmpty(r.IdempotencyKey));
        Assert.Equal((MessageStatus.Queued, MessageStatus.Scheduled), (result.Results[0].State, result.Results[3].State));
        Assert.Contains(result.Results[1].Errors, e => e.Field.StartsWith("messages[1]", StringComparison.Ordinal) && e.Code == "invalid_address");
        Assert.Equal("sender_not_allowed", Assert.Single(result.Results[2].Errors).Code);
        Assert.False(result.Results[1].IsAccepted);
        Assert.Equal(result.Results[0].Id, Assert.Single(repeat.Results).Id);
        Assert.True(Assert.Single(simple.Results).IsAccepted);
        Assert.Equal(400, empty.StatusCode);
        await WaitForAsync(client, result.Results[0].Id!, MessageStatus.Delivered);
        Assert.Single(gateway.Relay!.Messages, m => System.Text.Encoding.UTF8.GetString(m.Data).Contains("Subject: first", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Messages_ListAllAsync_enumerates_every_page()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();
        var sent = new HashSet<string>();
        for (var i = 0; i < 5; i++)
        {
            sent.Add((await client.Messages.SendAsync(Message(sendAt: DateTimeOffset.UtcNow.AddHours(1)))).Id);
        }

        var listed = new List<string>();
        await foreach (var message in client.Messages.ListAllAsync(new MessageListQuery { Status = MessageStatus.Scheduled, Limit = 2 }))
        {
            listed.Add(message.Id);
        }

        Assert.Equal(5, listed.Count);
        Assert.Equal(sent, listed.ToHashSet());
    }

    [Fact]
    public async Task Events_are_read_page_by_page_following_the_cursor_and_per_message()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await client.Messages.SendAsync(Message())).Id);
        }

        foreach (var id in ids)
        {
            await WaitForAsync(client, id, MessageStatus.Delivered);
        }

        var all = new List<MessageEvent>();
        await foreach (var e in client.Events.ListAllAsync(new EventQuery { Limit = 2 }))
        {
            all.Add(e);
        }

        var delivered = new List<MessageEvent>();
        await foreach (var e in client.Events.ListAllAsync(new EventQuery { Types = [MessageEventTypes.Delivered], Limit = 1000 }))
        {
            delivered.Add(e);
        }

        var later = await client.Events.ListAsync(new EventQuery { After = all[^1].Id });
        var one = new List<MessageEvent>();
        await foreach (var e in client.Events.ListAllForMessageAsync(ids[1]))
        {
            one.Add(e);
        }

        var bad = await Assert.ThrowsAsync<MailGatewayException>(() => client.Events.ListAsync(new EventQuery { Limit = 5000, After = "x" }));
        var unknown = await Assert.ThrowsAsync<MailGatewayException>(() => client.Events.ListForMessageAsync("0123456789abcdef"));

        Assert.Equal(9, all.Count);
        Assert.Equal(all.Select(e => e.Id).Order(StringComparer.Ordinal), all.Select(e => e.Id));
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());
        Assert.Equal(6, delivered.Count);
        Assert.All(delivered, e => Assert.Equal(MessageEventTypes.Delivered, e.Type));
        Assert.Empty(later.Events);
        Assert.False(later.HasMore);
        Assert.Equal([(MessageEventTypes.Accepted, null), (MessageEventTypes.Delivered, "rcpt@example.net"), (MessageEventTypes.Delivered, (string?)null)],
            one.Select(e => (e.Type, e.Recipient)));
        Assert.All(one, e => Assert.Equal(ids[1], e.MessageId));
        Assert.Equal(400, bad.StatusCode);
        Assert.Equal(["after", "limit"], bad.Problem!.Errors.Select(e => e.Field).Order(StringComparer.Ordinal));
        Assert.True(unknown.IsNotFound);
    }

    [Fact]
    public async Task Webhooks_are_created_read_changed_rotated_and_deleted_and_deliveries_verify_with_either_secret_after_a_rotation()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var gateway = await Gateway.StartAsync(s =>
        {
            s["MailGateway:Webhooks:AllowLoopback"] = "true";
            s["MailGateway:Webhooks:PollInterval"] = "00:00:00.050";
        });
        using var client = gateway.Client();
        using var other = gateway.Client(Gateway.OtherKey);

        var created = await client.Webhooks.CreateAsync(new CreateWebhook { Url = receiver.Url, EventTypes = [MessageEventTypes.Accepted] });
        var first = await client.Messages.SendAsync(Message());
        var firstDelivery = await receiver.WaitForAsync(first.Id);
        var rotated = await client.Webhooks.RotateSecretAsync(created.Id);
        var second = await client.Messages.SendAsync(Message());
        var secondDelivery = await receiver.WaitForAsync(second.Id);
        var acknowledged = await Poll.UntilAsync(() => client.Webhooks.GetAsync(created.Id), w => w.Cursor == secondDelivery.Id, w => $"cursor {w.Cursor}");
        var listed = await client.Webhooks.ListAsync();
        var paused = await client.Webhooks.UpdateAsync(created.Id, new UpdateWebhook { Enabled = false });
        var read = await client.Webhooks.GetAsync(created.Id);
        var othersView = await Assert.ThrowsAsync<MailGatewayException>(() => other.Webhooks.GetAsync(created.Id));
        var badUrl = await Assert.ThrowsAsync<MailGatewayException>(() => client.Webhooks.CreateAsync(new CreateWebhook { Url = new Uri("http://example.com/hook") }));
        await client.Webhooks.DeleteAsync(created.Id);
        var gone = await Assert.ThrowsAsync<MailGatewayException>(() => client.Webhooks.GetAsync(created.Id));

        Assert.StartsWith("wh_", created.Id, StringComparison.Ordinal);
        Assert.StartsWith("whsec_", created.Secret, StringComparison.Ordinal);
        Assert.Equal(("api", "app", true), (created.Source, created.ApiKey, created.Enabled));
        Assert.True(new WebhookVerifier(created.Secret!).TryVerify(firstDelivery.Id, firstDelivery.Timestamp, firstDelivery.Signature, firstDelivery.Body, out _, out _));
        // During the grace period either secret alone verifies a delivery.
        Assert.True(new WebhookVerifier(created.Secret!).TryVerify(secondDelivery.Id, secondDelivery.Timestamp, secondDelivery.Signature, secondDelivery.Body, out _, out _));
        Assert.True(new WebhookVerifier(rotated.Secret).TryVerify(secondDelivery.Id, secondDelivery.Timestamp, secondDelivery.Signature, secondDelivery.Body, out _, out _));
        Assert.False(new WebhookVerifier(rotated.Secret).TryVerify(firstDelivery.Id, firstDelivery.Timestamp, firstDelivery.Signature, firstDelivery.Body, out _, out _));
        Assert.NotNull(rotated.PreviousSecretExpiresAt);
        Assert.Equal(created.Id, Assert.Single(listed).Id);
        Assert.Null(listed[0].Secret);
        Assert.False(paused.Enabled);
        Assert.NotNull(read.DisabledReason);
        Assert.Equal((secondDelivery.Id, 0, 204), (read.Cursor, acknowledged.Failures, acknowledged.LastStatus));
        Assert.True(othersView.IsNotFound);
        Assert.Equal(400, badUrl.StatusCode);
        Assert.Equal(("url", "invalid_url"), (badUrl.Problem!.Errors.Single().Field, badUrl.Problem.Errors.Single().Code));
        Assert.True(gone.IsNotFound);
    }

    [Fact]
    public async Task Dead_letters_are_listed_read_replayed_and_purged()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();
        var refused = await client.Messages.SendAsync(Message(to: "reject@example.net"));
        await WaitForAsync(client, refused.Id, MessageStatus.Failed);
        var deadLetter = await Poll.UntilAsync(() => client.DeadLetters.ListAsync(new DeadLetterQuery { Reason = "Failed", Limit = 10 }), p => p.Items.Count > 0);

        var all = new List<DeadLetter>();
        await foreach (var item in client.DeadLetters.ListAllAsync(new DeadLetterQuery { Limit = 1 }))
        {
            all.Add(item);
        }

        var read = await client.DeadLetters.GetAsync(deadLetter.Items[0].Id);
        var replayed = await client.DeadLetters.ReplayAsync(read.Id);
        var replayedAgain = await Assert.ThrowsAsync<MailGatewayException>(() => client.DeadLetters.ReplayAsync(read.Id));
        // The relay refuses it again: a second dead letter of the same message, which is purged.
        var second = await Poll.UntilAsync(() => client.DeadLetters.ListAsync(), p => p.Items.Any(d => d.Id != read.Id && d.MessageId == refused.Id));
        var secondId = second.Items.First(d => d.Id != read.Id).Id;
        await client.DeadLetters.PurgeAsync(secondId);
        var purged = await Assert.ThrowsAsync<MailGatewayException>(() => client.DeadLetters.GetAsync(secondId));
        var badFilter = await Assert.ThrowsAsync<MailGatewayException>(() => client.DeadLetters.ListAsync(new DeadLetterQuery { Reason = "Lost" }));

        Assert.Equal(refused.Id, Assert.Single(all).MessageId);
        Assert.Equal((refused.Id, "Failed", "app"), (read.MessageId, read.Reason, read.ApiKey));
        Assert.Equal(["reject@example.net"], read.Recipients);
        Assert.Equal(MessageStatus.Failed, read.Message!.Status);
        Assert.Equal((refused.Id, MessageStatus.Deferred), (replayed.Id, replayed.Status));
        Assert.True(replayedAgain.IsNotFound);
        Assert.True(purged.IsNotFound);
        Assert.Equal(400, badFilter.StatusCode);
    }

    [Fact]
    public async Task Dead_letters_are_replayed_and_purged_in_bulk_by_filter()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var refused = await client.Messages.SendAsync(Message(to: "reject@example.net"));
            await WaitForAsync(client, refused.Id, MessageStatus.Failed);
            ids.Add(refused.Id);
        }

        await Poll.UntilAsync(() => client.DeadLetters.ListAsync(), p => p.Items.Count == 3);

        var none = await client.DeadLetters.ReplayMatchingAsync(new DeadLetterFilter { Reason = "Expired" });
        var firstTwo = await client.DeadLetters.ReplayMatchingAsync(new DeadLetterFilter { Reason = "Failed", Limit = 2 });
        var badFilter = await Assert.ThrowsAsync<MailGatewayException>(() => client.DeadLetters.PurgeMatchingAsync(new DeadLetterFilter { Limit = 1001 }));

        // The relay refuses the replayed ones again: three dead letters once more, all purged in one call.
        await Poll.UntilAsync(() => client.DeadLetters.ListAsync(), p => p.Items.Count == 3 && p.Items.Count(d => ids.Contains(d.MessageId)) == 3
            && p.Items.Select(d => d.MessageId).Distinct().Count() == 3 && p.Items.All(d => d.Attempt >= 1));
        var purged = await client.DeadLetters.PurgeMatchingAsync();

        Assert.Equal((0, false), (none.Done, none.More));
        Assert.Empty(none.Items);
        Assert.Equal((2, true), (firstTwo.Done, firstTwo.More));
        Assert.Equal([ids[2], ids[1]], firstTwo.Items.Select(i => i.MessageId));
        Assert.All(firstTwo.Items, i => Assert.Equal("replayed", i.Outcome));
        Assert.Equal(400, badFilter.StatusCode);
        Assert.Equal((3, false), (purged.Done, purged.More));
        Assert.All(purged.Items, i => Assert.Equal("purged", i.Outcome));
        Assert.Empty((await client.DeadLetters.ListAsync()).Items);
    }

    /// <summary>A webhook receiver on real Kestrel: keeps the raw headers and body of every request to <c>/hook</c>, answers 204.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<Delivery> _deliveries = new();

        private Receiver(WebApplication app) => _app = app;

        public Uri Url { get; private set; } = null!;

        public static async Task<Receiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var receiver = new Receiver(app);
            app.MapPost("/hook", async (HttpContext context) =>
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer);
                var headers = context.Request.Headers;
                receiver._deliveries.Enqueue(new Delivery(headers["webhook-id"].ToString(), headers["webhook-timestamp"].ToString(), headers["webhook-signature"].ToString(), buffer.ToArray()));
                return Results.NoContent();
            });
            await app.StartAsync();
            receiver.Url = new Uri(Loopback.AddressOf(app), "/hook");
            return receiver;
        }

        /// <summary>The first delivery about <paramref name="messageId"/>.</summary>
        public async Task<Delivery> WaitForAsync(string messageId)
        {
            await Poll.UntilAsync(() => _deliveries.Any(d => d.Text.Contains(messageId, StringComparison.Ordinal)), () => $"{_deliveries.Count} deliveries");
            return _deliveries.First(d => d.Text.Contains(messageId, StringComparison.Ordinal));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private sealed record Delivery(string Id, string Timestamp, string Signature, byte[] Body)
    {
        public string Text => System.Text.Encoding.UTF8.GetString(Body);
    }
}
