using System.Security.Cryptography;
using System.Text;
using MimeKit;

namespace MailGateway.Client.Tests;

/// <summary>Every call of the client against a real standalone gateway that delivers to a real SMTP relay.</summary>
public sealed class ClientCallsTests
{
    [Fact]
    public async Task Send_with_every_field_is_delivered_with_the_exact_parts_and_get_reports_every_attempt_and_recipient()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();
        var pdf = RandomNumberGenerator.GetBytes(3000);
        var logo = RandomNumberGenerator.GetBytes(500);
        var csv = Encoding.UTF8.GetBytes("id;name\n1;Zoë\n");
        var file = Path.Combine(Path.GetTempPath(), $"client-{Guid.NewGuid():N}.png");
        var png = RandomNumberGenerator.GetBytes(1200);
        await File.WriteAllBytesAsync(file, png);
        using var stream = new MemoryStream(csv);
        var message = new EmailMessage
        {
            From = new EmailAddress("app@example.com", "The App"),
            To = { "first@example.net", new EmailAddress("second@example.net", "Second") },
            Cc = { "copy@example.net" },
            Bcc = { "hidden@example.net" },
            ReplyTo = { "support@example.com" },
            Subject = "Every field",
            Text = "Plain body",
            Html = "<p>Html body <img src=\"cid:logo\"></p>",
            Headers = { new EmailHeader("X-Campaign", "spring") },
            Attachments =
            {
                EmailAttachment.FromBytes("invoice.pdf", pdf),
                EmailAttachment.FromStream("report.csv", stream, "text/csv"),
                EmailAttachment.FromFile(file),
                EmailAttachment.FromBytes("logo.png", logo, contentId: "logo"),
            },
            Tags = { "welcome", "client" },
            Metadata = { ["orderId"] = "42" },
        };

        var accepted = await client.Messages.SendAsync(message);
        var details = await Eventually.StatusAsync(client, accepted.Id, MessageStatus.Delivered);

        Assert.Equal(MessageStatus.Queued, accepted.Status);
        Assert.Matches("^[0-9a-f]{32}$", accepted.IdempotencyKey);
        Assert.Equal(accepted.Id, details.Id);
        var attempt = Assert.Single(details.Attempts);
        Assert.Equal(1, attempt.Number);
        Assert.Equal(AttemptOutcome.Delivered, attempt.Outcome);
        Assert.Equal(gateway.Relay!.Port(MailGateway.Testing.RelayEndpointKind.PlainOnly), attempt.Port);
        Assert.StartsWith("250", attempt.Reply, StringComparison.Ordinal);
        Assert.Equal(
            ["copy@example.net", "first@example.net", "hidden@example.net", "second@example.net"],
            details.Recipients.Select(r => r.Address).Order(StringComparer.Ordinal));
        Assert.All(details.Recipients, r => Assert.Equal(RecipientStatus.Delivered, r.Status));
        Assert.Equal(["welcome", "client"], details.Tags);
        Assert.Equal("42", details.Metadata["orderId"]);
        Assert.True(details.UpdatedAt >= details.CreatedAt);
        Assert.Null(details.SendAt);
        Assert.True(details.Status.IsFinal);

        var relayed = Assert.Single(gateway.Relay.Messages);
        Assert.Contains("hidden@example.net", relayed.Recipients);
        var mime = await MimeMessage.LoadAsync(new MemoryStream(relayed.Data));
        Assert.Equal("Every field", mime.Subject);
        Assert.Equal("spring", mime.Headers["X-Campaign"]);
        Assert.Equal("\"The App\" <app@example.com>", mime.From.ToString());
        Assert.Equal("support@example.com", mime.ReplyTo.Mailboxes.Single().Address);
        Assert.Empty(mime.Bcc);
        Assert.Equal("Plain body", mime.TextBody!.Trim());
        var parts = mime.BodyParts.OfType<MimePart>().Where(p => p.FileName is not null).ToDictionary(p => p.FileName!);
        Assert.Equal(pdf, Decode(parts["invoice.pdf"]));
        Assert.Equal("application/pdf", parts["invoice.pdf"].ContentType.MimeType);
        Assert.Equal(csv, Decode(parts["report.csv"]));
        Assert.Equal(png, Decode(parts[Path.GetFileName(file)]));
        Assert.Equal("image/png", parts[Path.GetFileName(file)].ContentType.MimeType);
        Assert.Equal(logo, Decode(parts["logo.png"]));
        Assert.Equal("logo", parts["logo.png"].ContentId);
        File.Delete(file);
    }

    [Fact]
    public async Task A_send_in_the_future_is_scheduled_with_its_times()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();
        var sendAt = DateTimeOffset.UtcNow.AddHours(1);
        var expiresAt = sendAt.AddHours(2);

        var accepted = await client.Messages.SendAsync(new EmailMessage
        {
            From = "app@example.com",
            To = { "rcpt@example.net" },
            Text = "later",
            SendAt = sendAt,
            ExpiresAt = expiresAt,
        });
        var details = await client.Messages.GetAsync(accepted.Id);

        Assert.Equal(MessageStatus.Scheduled, accepted.Status);
        Assert.Equal(MessageStatus.Scheduled, details.Status);
        Assert.False(details.Status.IsFinal);
        Assert.Equal(sendAt, details.SendAt);
        Assert.Equal(expiresAt, details.ExpiresAt);
        Assert.Equal(sendAt, details.NextAttemptAt);
        Assert.Empty(details.Attempts);
        Assert.Empty(gateway.Relay!.Messages);
    }

    [Fact]
    public async Task Health_and_readiness_report_alive_and_ready()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();

        var health = await client.GetHealthAsync();
        var readiness = await client.GetReadinessAsync();

        Assert.True(health.IsHealthy);
        Assert.Equal("alive", health.Status);
        Assert.True(readiness.IsHealthy);
        Assert.Equal("ready", readiness.Status);
        Assert.Empty(readiness.FailingComponents);
    }

    [Fact]
    public async Task A_gateway_that_is_not_ready_is_an_answer_with_the_failing_part_asked_once()
    {
        await using var gateway = await Gateway.StartWithBrokenStorageAsync();
        await using var front = await Front.StartAsync(gateway.BaseAddress);
        using var client = gateway.Client(through: front.BaseAddress);

        var readiness = await client.GetReadinessAsync();

        Assert.False(readiness.IsHealthy);
        Assert.Equal("Not ready", readiness.Status);
        Assert.Equal("contentStore", Assert.Single(readiness.FailingComponents).Field);
        Assert.Single(front.Requests);
    }

    [Fact]
    public async Task A_base_address_with_a_path_prefix_keeps_the_prefix()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client(through: new Uri(gateway.BaseAddress, "/not-the-gateway/"));

        var error = await Assert.ThrowsAsync<MailGatewayException>(() => client.GetHealthAsync());

        Assert.Equal(404, error.StatusCode);
    }

    private static byte[] Decode(MimePart part)
    {
        using var decoded = new MemoryStream();
        part.Content!.DecodeTo(decoded);
        return decoded.ToArray();
    }
}
