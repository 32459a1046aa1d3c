using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailGateway.Client.Tests;

/// <summary>
/// Retries through a real Kestrel front that loses the gateway's answer after the gateway accepted the message: the
/// retry carries the same Idempotency-Key, the gateway replays its answer, and the relay receives the message once.
/// </summary>
public sealed class RetryTests
{
    [Theory]
    [InlineData(FrontAction.ForwardThen503, false)]
    [InlineData(FrontAction.ForwardThenDrop, false)]
    [InlineData(FrontAction.ForwardThen503, true)]
    [InlineData(FrontAction.ForwardThenDrop, true)]
    public async Task A_send_whose_answer_was_lost_after_the_gateway_accepted_it_is_retried_with_the_same_key_and_delivered_once(FrontAction failure, bool callerKey)
    {
        await using var gateway = await Gateway.StartAsync();
        await using var front = await Front.StartAsync(gateway.BaseAddress);
        using var client = gateway.Client(through: front.BaseAddress);
        front.Script(failure);
        var options = new SendMessageOptions { IdempotencyKey = callerKey ? "order-42-receipt" : null };

        var accepted = await client.Messages.SendAsync(Message("Lost answer"), options);
        await Eventually.StatusAsync(client, accepted.Id, MessageStatus.Delivered);

        // A second message delivered after the first shows the queue has nothing left that could be a duplicate.
        var sentinel = await client.Messages.SendAsync(Message("Sentinel"));
        await Eventually.StatusAsync(client, sentinel.Id, MessageStatus.Delivered);
        var posts = front.Requests.Where(r => r.Method == "POST").ToList();
        Assert.Equal(3, posts.Count);
        Assert.Equal(failure, posts[0].Action);
        Assert.Equal(posts[0].IdempotencyKey, posts[1].IdempotencyKey);
        Assert.NotEqual(posts[1].IdempotencyKey, posts[2].IdempotencyKey);
        Assert.Equal(accepted.IdempotencyKey, posts[0].IdempotencyKey);
        if (callerKey)
        {
            Assert.Equal("order-42-receipt", posts[0].IdempotencyKey);
        }

        var relayed = gateway.Relay!.Messages.Select(m => Encoding.ASCII.GetString(m.Data)).ToList();
        Assert.Equal(2, relayed.Count);
        Assert.Single(relayed, m => m.Contains("Subject: Lost answer", StringComparison.Ordinal));
        Assert.Contains($"Message-ID: <{accepted.Id}@", relayed.Single(m => m.Contains("Subject: Lost answer", StringComparison.Ordinal)), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_retry_waits_for_the_answers_Retry_After_instead_of_its_own_backoff()
    {
        await using var gateway = await Gateway.StartAsync();
        await using var front = await Front.StartAsync(gateway.BaseAddress);
        var time = new RecordingTimeProvider();
        using var host = ClientHost(front.BaseAddress, time, o =>
        {
            o.MaxRetries = 1;
            o.RetryDelay = TimeSpan.FromHours(1);
            o.MaxRetryDelay = TimeSpan.FromHours(2);
        });
        var client = host.Services.GetRequiredService<MailGatewayClient>();
        front.Script(FrontAction.Refuse503RetryAfter30);

        // Cancelled when the test fails: a send left waiting on the fake clock would keep the pipeline from being disposed.
        using var abandon = new CancellationTokenSource();
        var send = client.Messages.SendAsync(Message("Retry-After"), abandon.Token);
        AcceptedMessage accepted;
        try
        {
            await Eventually.TrueAsync(() => time.DueTimes.Contains(TimeSpan.FromSeconds(30)) ? "pause" : null, "a 30 s pause");
            time.Advance(TimeSpan.FromSeconds(30));
            accepted = await send;
        }
        finally
        {
            await abandon.CancelAsync();
        }

        Assert.Equal(MessageStatus.Queued, accepted.Status);
        Assert.Equal(2, front.Requests.Count);
        Assert.Equal(front.Requests[0].IdempotencyKey, front.Requests[1].IdempotencyKey);
        Assert.DoesNotContain(time.DueTimes, d => d >= TimeSpan.FromMinutes(30));
    }

    [Fact]
    public async Task A_Retry_After_longer_than_the_client_waits_is_not_retried_and_travels_with_the_exception()
    {
        await using var gateway = await Gateway.StartAsync();
        await using var front = await Front.StartAsync(gateway.BaseAddress);
        using var client = gateway.Client(through: front.BaseAddress);
        front.Script(FrontAction.Refuse503RetryAfter3600);

        var error = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(Message("Too long")));

        Assert.Equal(503, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromHours(1), error.RetryAfter);
        Assert.Null(error.Problem);
        Assert.Equal(front.Requests.Single().IdempotencyKey, error.IdempotencyKey);
    }

    [Fact]
    public async Task A_gateway_that_cannot_store_is_asked_again_with_the_same_key_then_its_503_problem_is_thrown()
    {
        await using var gateway = await Gateway.StartWithBrokenStorageAsync(s => s["MailGateway:Api:RetryAfter"] = "00:00:01");
        await using var front = await Front.StartAsync(gateway.BaseAddress);
        using var client = gateway.Client(through: front.BaseAddress, configure: o => o.MaxRetries = 1);

        var error = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(Message("Unavailable")));

        Assert.Equal(503, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(1), error.RetryAfter);
        Assert.Contains("nothing was accepted", error.Detail, StringComparison.Ordinal);
        Assert.Equal(2, front.Requests.Count);
        Assert.All(front.Requests, r => Assert.Equal(error.IdempotencyKey, r.IdempotencyKey));
        Assert.Empty(gateway.Relay!.Messages);
    }

    [Fact]
    public async Task A_refusal_is_not_retried_and_a_health_probe_is_asked_once()
    {
        await using var gateway = await Gateway.StartAsync();
        await using var front = await Front.StartAsync(gateway.BaseAddress);
        using var client = gateway.Client(through: front.BaseAddress);
        front.Script(FrontAction.Forward, FrontAction.Refuse503RetryAfter30);

        var refused = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(new EmailMessage { From = "app@example.com", To = { "rcpt@example.net" } }));
        var probe = await Assert.ThrowsAsync<MailGatewayException>(() => client.GetReadinessAsync());

        Assert.Equal(400, refused.StatusCode);
        Assert.False(refused.IsTransient);
        Assert.Equal(503, probe.StatusCode);
        Assert.Equal(["POST", "GET"], front.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task No_answer_at_all_is_a_transient_exception_with_status_0_after_the_retries()
    {
        using var refused = MailGateway.Testing.FreePort.Refused();
        using var client = new MailGatewayClient(new MailGatewayClientOptions
        {
            BaseAddress = new Uri($"http://127.0.0.1:{refused.Port}"),
            ApiKey = Gateway.Key,
            MaxRetries = 2,
            RetryDelay = TimeSpan.FromMilliseconds(1),
        });

        var error = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(Message("Nobody there")));

        Assert.Equal(0, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.IsType<HttpRequestException>(error.InnerException);
        Assert.NotNull(error.IdempotencyKey);
    }

    internal static EmailMessage Message(string subject) => new()
    {
        From = "app@example.com",
        To = { "rcpt@example.net" },
        Subject = subject,
        Text = "Hello",
    };

    private static IHost ClientHost(Uri baseAddress, TimeProvider time, Action<MailGatewayClientOptions> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(time);
        builder.Services.AddMailGatewayClient(o =>
        {
            o.BaseAddress = baseAddress;
            o.ApiKey = Gateway.Key;
            configure(o);
        });
        var host = builder.Build();
        host.Start();
        return host;
    }
}
