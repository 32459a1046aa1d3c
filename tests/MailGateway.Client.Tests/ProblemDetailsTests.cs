using System.Security.Cryptography;

namespace MailGateway.Client.Tests;

/// <summary>Every refusal of the real gateway surfaces as <see cref="MailGatewayException"/> with the whole problem.</summary>
public sealed class ProblemDetailsTests : IAsyncLifetime
{
    private Gateway _gateway = null!;

    public async Task InitializeAsync() => _gateway = await Gateway.StartAsync(s =>
    {
        s["MailGateway:Api:MaxRequestBodyBytes"] = "65536";
        s["MailGateway:Messages:MaxMessageBytes"] = "8192";
    });

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task A_400_carries_every_field_error_and_the_whole_problem()
    {
        using var client = _gateway.Client();
        var message = new EmailMessage
        {
            From = "app@example.com",
            To = { "not-an-address" },
            Cc = { "also wrong" },
            Headers = { new EmailHeader("From", "someone@example.org") },
        };

        var error = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(message));

        Assert.Equal(400, error.StatusCode);
        Assert.Equal(
            [("cc[0].address", "invalid_address"), ("headers[0].name", "reserved_header"), ("text", "body_required"), ("to[0].address", "invalid_address")],
            error.Errors.Select(e => (e.Field, e.Code)).Order());
        Assert.All(error.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Message)));
        Assert.Equal("https://www.rfc-editor.org/rfc/rfc9110#status.400", error.Type);
        Assert.Equal("Invalid request", error.Title);
        Assert.Equal(400, error.Problem!.Status);
        Assert.Contains("4 problem(s)", error.Detail, StringComparison.Ordinal);
        Assert.Equal("/api/v1/messages", error.Instance);
        Assert.False(string.IsNullOrEmpty(error.TraceId));
        Assert.True(error.HasErrorCode("reserved_header"));
        Assert.False(error.IsTransient);
        Assert.Contains("to[0].address: invalid_address", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-an-address", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_401_for_an_unknown_key_on_send_and_get()
    {
        using var client = _gateway.Client(key: "not-a-configured-key");

        var send = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(RetryTests.Message("x")));
        var get = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.GetAsync("0123"));

        Assert.Equal(401, send.StatusCode);
        Assert.Equal("Unauthorized", send.Title);
        Assert.Equal(401, get.StatusCode);
        Assert.Equal("/api/v1/messages/0123", get.Instance);
    }

    [Fact]
    public async Task A_403_names_the_sender_field()
    {
        using var client = _gateway.Client(key: Gateway.OtherKey);

        var error = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(RetryTests.Message("x")));

        Assert.Equal(403, error.StatusCode);
        Assert.Equal(new FieldError("from.address", "sender_not_allowed", error.Errors.Single().Message), error.Errors.Single());
    }

    [Fact]
    public async Task A_404_for_an_unknown_id_and_for_a_message_of_another_key()
    {
        using var client = _gateway.Client();
        using var other = _gateway.Client(key: Gateway.OtherKey);
        var accepted = await client.Messages.SendAsync(RetryTests.Message("mine"));

        var unknown = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.GetAsync("no-such-message"));
        var foreign = await Assert.ThrowsAsync<MailGatewayException>(() => other.Messages.GetAsync(accepted.Id));

        Assert.True(unknown.IsNotFound);
        Assert.Equal("Not found", unknown.Title);
        Assert.True(foreign.IsNotFound);
    }

    [Fact]
    public async Task A_413_for_a_request_over_the_body_limit_and_for_a_composed_message_over_the_size_limit()
    {
        using var client = _gateway.Client();
        var tooLargeRequest = RetryTests.Message("big request");
        tooLargeRequest.Attachments.Add(EmailAttachment.FromBytes("big.bin", RandomNumberGenerator.GetBytes(100_000)));
        var tooLargeMessage = RetryTests.Message("big message");
        tooLargeMessage.Attachments.Add(EmailAttachment.FromBytes("medium.bin", RandomNumberGenerator.GetBytes(10_000)));

        var request = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(tooLargeRequest));
        var message = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(tooLargeMessage));

        Assert.Equal(413, request.StatusCode);
        Assert.Contains("65536", request.Detail, StringComparison.Ordinal);
        Assert.Equal(413, message.StatusCode);
        Assert.True(message.HasErrorCode("message_too_large"));
    }

    [Fact]
    public async Task A_415_when_a_proxy_changed_the_content_type()
    {
        await using var front = await Front.StartAsync(_gateway.BaseAddress);
        using var client = _gateway.Client(through: front.BaseAddress);
        front.Script(FrontAction.ForwardAsTextPlain);

        var error = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(RetryTests.Message("x")));

        Assert.Equal(415, error.StatusCode);
        Assert.Equal("Unsupported media type", error.Title);
        Assert.Single(front.Requests);
    }

    [Fact]
    public async Task A_422_when_a_callers_key_is_reused_for_another_message()
    {
        using var client = _gateway.Client();
        var options = new SendMessageOptions { IdempotencyKey = "signup-7" };
        var first = await client.Messages.SendAsync(RetryTests.Message("first"), options);
        var again = await client.Messages.SendAsync(RetryTests.Message("first"), options);

        var error = await Assert.ThrowsAsync<MailGatewayException>(() => client.Messages.SendAsync(RetryTests.Message("second"), options));

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(422, error.StatusCode);
        Assert.Equal(new FieldError("Idempotency-Key", "idempotency_key_reused", error.Errors.Single().Message), error.Errors.Single());
        Assert.Equal("signup-7", error.IdempotencyKey);
    }

    [Theory]
    [InlineData("")]
    [InlineData("with\nnewline")]
    [InlineData("ünïcode")]
    public async Task An_invalid_key_is_refused_before_anything_is_sent(string key)
    {
        using var client = _gateway.Client();

        await Assert.ThrowsAsync<ArgumentException>(() => client.Messages.SendAsync(RetryTests.Message("x"), new SendMessageOptions { IdempotencyKey = key }));
    }
}
