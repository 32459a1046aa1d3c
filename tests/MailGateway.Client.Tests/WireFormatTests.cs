using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MailGateway.Api;

namespace MailGateway.Client.Tests;

/// <summary>The client's JSON against the gateway's own contract types and strict settings.</summary>
public sealed class WireFormatTests
{
    [Fact]
    public async Task The_request_is_read_by_the_gateways_strict_deserializer_with_every_value()
    {
        var message = new EmailMessage
        {
            From = new EmailAddress("app@example.com", "App"),
            To = { "a@example.net", new EmailAddress("b@example.net", "B") },
            Cc = { "c@example.net" },
            Bcc = { "d@example.net" },
            ReplyTo = { "e@example.com" },
            Subject = "S",
            Text = "T",
            Html = "<p>H</p>",
            Headers = { new EmailHeader("X-Campaign", "spring") },
            Attachments = { EmailAttachment.FromBytes("a.bin", new byte[] { 1, 2, 3 }, "application/octet-stream", "cid-1") },
            Tags = { "t" },
            Metadata = { ["k"] = "v" },
            SendAt = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)),
            ExpiresAt = new DateTimeOffset(2030, 1, 3, 3, 4, 5, TimeSpan.Zero),
        };
        await message.Attachments[0].LoadAsync(CancellationToken.None);

        // The gateway refuses unknown properties, so this also proves every name the client writes is one the API knows.
        var dto = JsonSerializer.Deserialize(EmailMessageJson.Serialize(message), ApiJsonContext.Default.SendMessageRequest)!;

        Assert.Equal(("app@example.com", "App"), (dto.From!.Address, dto.From.Name));
        Assert.Equal([("a@example.net", null), ("b@example.net", "B")], dto.To!.Select(a => (a.Address, a.Name)));
        Assert.Equal("c@example.net", dto.Cc!.Single().Address);
        Assert.Equal("d@example.net", dto.Bcc!.Single().Address);
        Assert.Equal("e@example.com", dto.ReplyTo!.Single().Address);
        Assert.Equal(("S", "T", "<p>H</p>"), (dto.Subject, dto.Text, dto.Html));
        Assert.Equal(("X-Campaign", "spring"), (dto.Headers!.Single().Name, dto.Headers!.Single().Value));
        var attachment = dto.Attachments!.Single();
        Assert.Equal(("a.bin", "application/octet-stream", "AQID", "cid-1"), (attachment.Filename, attachment.ContentType, attachment.Content, attachment.ContentId));
        Assert.Equal(["t"], dto.Tags);
        Assert.Equal("v", dto.Metadata!["k"]);
        Assert.Equal(message.SendAt, dto.SendAt);
        Assert.Equal(message.ExpiresAt, dto.ExpiresAt);
    }

    [Fact]
    public void Null_properties_and_empty_collections_are_left_out()
    {
        var json = Encoding.UTF8.GetString(EmailMessageJson.Serialize(new EmailMessage { From = "app@example.com", To = { "a@example.net" }, Text = "T" }));

        Assert.Equal("""{"from":"app@example.com","to":["a@example.net"],"text":"T"}""", json);
    }

    [Fact]
    public void The_status_answer_is_read_completely_by_the_client()
    {
        var now = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var answer = new MessageStatusResponse("m1", "deferred", now, now.AddSeconds(1), now, now.AddDays(1), now.AddMinutes(5), "451 4.3.0 later",
            [new AttemptResponse(1, now, 42, "deferred", 587, "Tls13", "451 4.3.0 later")],
            [new RecipientResponse("a@example.net", "deferred", "451 4.3.0 later")],
            ["t"], new Dictionary<string, string> { ["k"] = "v" });
        var json = JsonSerializer.Serialize(answer, ApiJsonContext.Default.MessageStatusResponse);

        // Strict on the client side: a property of the answer that the client's model lacks fails here.
        var strict = new JsonSerializerOptions(ClientJsonContext.Default.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, TypeInfoResolver = ClientJsonContext.Default };
        var details = JsonSerializer.Deserialize<MessageDetails>(json, strict)!;

        Assert.Equal(("m1", MessageStatus.Deferred, now, now.AddSeconds(1)), (details.Id, details.Status, details.CreatedAt, details.UpdatedAt));
        Assert.Equal((now, now.AddDays(1), now.AddMinutes(5), "451 4.3.0 later"), (details.SendAt, details.ExpiresAt, details.NextAttemptAt, details.LastReply));
        var attempt = details.Attempts.Single();
        Assert.Equal((1, now, 42L, AttemptOutcome.Deferred, 587, "Tls13", "451 4.3.0 later"), (attempt.Number, attempt.StartedAt, attempt.DurationMs, attempt.Outcome, attempt.Port, attempt.Tls, attempt.Reply));
        Assert.Equal(TimeSpan.FromMilliseconds(42), attempt.Duration);
        Assert.Equal(("a@example.net", RecipientStatus.Deferred), (details.Recipients.Single().Address, details.Recipients.Single().Status));
        Assert.Equal(["t"], details.Tags);
        Assert.Equal("v", details.Metadata["k"]);
    }

    [Fact]
    public void Values_and_properties_of_a_newer_gateway_are_kept_or_ignored_never_an_error()
    {
        const string json = """
            {"id":"m1","status":"cancelled","createdAt":"2030-01-02T03:04:05Z","updatedAt":"2030-01-02T03:04:05Z",
             "cancelledBy":"ops","attempts":[{"number":1,"startedAt":"2030-01-02T03:04:05Z","durationMs":1,"outcome":"bounced"}],
             "recipients":[{"address":"a@example.net","status":"suppressed"}],"tags":[],"metadata":{}}
            """;

        var details = JsonSerializer.Deserialize(json, ClientJsonContext.Default.MessageDetails)!;

        Assert.Equal("cancelled", details.Status.ToString());
        Assert.Equal(new MessageStatus("Cancelled"), details.Status);
        Assert.NotEqual(MessageStatus.Unknown, details.Status);
        Assert.False(details.Status.IsFinal);
        Assert.Equal("bounced", details.Attempts.Single().Outcome.ToString());
        Assert.Equal("suppressed", details.Recipients.Single().Status.ToString());
        Assert.Null(details.SendAt);
        Assert.Null(details.Attempts.Single().Port);
    }

    [Fact]
    public void A_status_is_written_as_its_string()
    {
        var json = JsonSerializer.Serialize(new AcceptedMessage { Id = "m1", Status = MessageStatus.Scheduled }, ClientJsonContext.Default.AcceptedMessage);

        Assert.Equal("""{"id":"m1","status":"scheduled"}""", json);
    }
}
