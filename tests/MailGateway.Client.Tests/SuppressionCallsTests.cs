using MailGateway.Testing;

namespace MailGateway.Client.Tests;

/// <summary>The client's suppression calls against a real standalone gateway.</summary>
public sealed class SuppressionCallsTests
{
    [Fact]
    public async Task Added_addresses_are_listed_paged_suppress_a_send_and_are_removed()
    {
        await using var gateway = await Gateway.StartAsync();
        using var client = gateway.Client();

        var added = await client.Suppressions.AddAsync(["B@example.net", "a@example.net", "c@example.net"], DateTimeOffset.UtcNow.AddDays(1), "test");
        var first = await client.Suppressions.ListAsync(new SuppressionListQuery { Limit = 2 });
        var second = await client.Suppressions.ListAsync(new SuppressionListQuery { Limit = 2, Cursor = first.Next });
        var one = await client.Suppressions.ListAsync(new SuppressionListQuery { Address = "b@example.net" });

        Assert.Equal(["b@example.net", "a@example.net", "c@example.net"], added.Select(s => s.Address));
        Assert.Equal(["a@example.net", "b@example.net"], first.Suppressions.Select(s => s.Address));
        Assert.Equal(["c@example.net"], second.Suppressions.Select(s => s.Address));
        Assert.Null(second.Next);
        var entry = Assert.Single(one.Suppressions);
        Assert.Equal(("manual", "test"), (entry.Reason, entry.Detail));
        Assert.NotNull(entry.ExpiresAt);

        var sent = await client.Messages.SendAsync(new EmailMessage { From = "app@example.com", To = { "a@example.net" }, Text = "x" });
        var details = await Poll.UntilAsync(() => client.Messages.GetAsync(sent.Id), d => d.Status.IsFinal);
        Assert.Equal(MessageStatus.Suppressed, details.Status);
        Assert.Equal(RecipientStatus.Suppressed, Assert.Single(details.Recipients).Status);
        Assert.Empty(gateway.Relay!.Messages);

        Assert.True(await client.Suppressions.RemoveAsync("A@example.net"));
        Assert.False(await client.Suppressions.RemoveAsync("a@example.net"));
        var bad = await Assert.ThrowsAsync<MailGatewayException>(() => client.Suppressions.AddAsync(["not an address"]));
        Assert.Equal(400, bad.StatusCode);
        Assert.Contains(bad.Problem!.Errors, e => e.Code == "invalid_address");
    }
}
