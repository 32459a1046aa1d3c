using System.Text.Json;
using MailGateway.AzureAdapters.ServiceBus;

namespace MailGateway.AzureAdapters.Tests;

public sealed class DeliveryJobSerializerTests
{
    [Fact]
    public void A_job_round_trips()
    {
        var job = Jobs.Job(attempt: 3);
        var back = DeliveryJobSerializer.Deserialize(DeliveryJobSerializer.Serialize(job));

        Assert.Equal(job.MessageId, back.MessageId);
        Assert.Equal(job.ContentReference, back.ContentReference);
        Assert.Equal(job.MailFrom, back.MailFrom);
        Assert.Equal(job.Recipients, back.Recipients);
        Assert.Equal(3, back.Attempt);
        Assert.Equal(job.FirstSeen, back.FirstSeen);
        Assert.Equal(job.ExpiresAt, back.ExpiresAt);
        Assert.Equal(1, back.Version);
    }

    [Fact]
    public void The_wire_form_is_small_versioned_camel_case_json_without_the_mime()
    {
        var json = JsonDocument.Parse(DeliveryJobSerializer.Serialize(Jobs.Job() with { ExpiresAt = null }).ToString()).RootElement;

        Assert.Equal(
            ["v", "id", "content", "mailFrom", "recipients", "attempt", "firstSeen"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, json.GetProperty("v").GetInt32());
        Assert.Equal("2026-11-28T10:00:00+00:00", json.GetProperty("firstSeen").GetString());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("""{"v":2,"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","mailFrom":"a@b","recipients":[],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":0,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1}""")]
    public void Anything_but_a_complete_job_of_a_known_version_is_malformed(string body)
    {
        Assert.Throws<MalformedDeliveryJobException>(() => DeliveryJobSerializer.Deserialize(BinaryData.FromString(body)));
    }
}
