using System.Text;
using System.Text.Json;
using MailGateway.Core.Queue;

namespace MailGateway.Core.Tests.Queue;

public sealed class DeliveryJobSerializerTests
{
    private static readonly DateTimeOffset FirstSeen = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    private static DeliveryJob Job(int attempt = 1) => new()
    {
        MessageId = "0192f0c0a1b2c3d4e5f60718293a4b5c",
        ContentReference = "2026/11/28/0123456789abcdef0123456789abcdef.eml",
        MailFrom = "app@example.com",
        Recipients = ["b@example.net", "c@example.org"],
        Attempt = attempt,
        FirstSeen = FirstSeen,
        ExpiresAt = FirstSeen.AddDays(2),
    };

    [Fact]
    public void A_job_round_trips_through_bytes_and_through_a_string()
    {
        var job = Job(attempt: 3);

        var fromBytes = DeliveryJobSerializer.Deserialize(DeliveryJobSerializer.SerializeToUtf8Bytes(job));
        var fromString = DeliveryJobSerializer.Deserialize(DeliveryJobSerializer.Serialize(job));

        foreach (var back in new[] { fromBytes, fromString })
        {
            Assert.Equal((job.MessageId, job.ContentReference, job.MailFrom, 3, job.FirstSeen, job.ExpiresAt), (back.MessageId, back.ContentReference, back.MailFrom, back.Attempt, back.FirstSeen, back.ExpiresAt));
            Assert.Equal(job.Recipients, back.Recipients);
        }
    }

    [Fact]
    public void The_wire_form_is_small_versioned_camel_case_json_without_the_mime_or_the_trace_context()
    {
        var traced = Job() with { ExpiresAt = null, TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };

        var json = JsonDocument.Parse(DeliveryJobSerializer.Serialize(traced)).RootElement;

        Assert.Equal(["v", "id", "content", "mailFrom", "recipients", "attempt", "firstSeen"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, json.GetProperty("v").GetInt32());
        Assert.Equal("2026-11-28T10:00:00+00:00", json.GetProperty("firstSeen").GetString());
        Assert.Null(DeliveryJobSerializer.Deserialize(DeliveryJobSerializer.Serialize(traced)).TraceParent);
    }

    [Fact]
    public void A_body_the_Service_Bus_adapter_wrote_before_is_read()
    {
        const string earlier = """{"v":1,"id":"01JABCDEF","content":"2026/11/28/0123456789abcdef0123456789abcdef.eml","mailFrom":"app@example.com","recipients":["b@example.net","c@example.org"],"attempt":2,"firstSeen":"2026-11-28T10:00:00+00:00","expiresAt":"2026-11-30T10:00:00+00:00"}""";

        var job = DeliveryJobSerializer.Deserialize(Encoding.UTF8.GetBytes(earlier));

        Assert.Equal(("01JABCDEF", 2, FirstSeen.AddDays(2)), (job.MessageId, job.Attempt, job.ExpiresAt));
    }

    [Fact]
    public void A_body_the_SQLite_queue_wrote_by_reflection_before_is_read()
    {
        // What SqliteDeliveryQueue stored in jobs.body before the one format (JsonSerializerDefaults.Web on the record).
        const string earlier = """{"version":1,"messageId":"0192f0c0a1b2c3d4e5f60718293a4b5c","contentReference":"db:0192f0c0a1b2c3d4e5f60718293a4b5c","mailFrom":"app@example.com","recipients":["b@example.net"],"attempt":1,"firstSeen":"2026-11-28T10:00:00+00:00","expiresAt":null}""";

        var job = DeliveryJobSerializer.Deserialize(earlier);

        Assert.Equal(("0192f0c0a1b2c3d4e5f60718293a4b5c", "db:0192f0c0a1b2c3d4e5f60718293a4b5c", "app@example.com", 1, FirstSeen), (job.MessageId, job.ContentReference, job.MailFrom, job.Attempt, job.FirstSeen));
        Assert.Equal(["b@example.net"], job.Recipients);
        Assert.Null(job.ExpiresAt);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("""{"v":2,"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"version":2,"messageId":"x","contentReference":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","mailFrom":"a@b","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","recipients":["c@d"],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","mailFrom":"a@b","recipients":[],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","mailFrom":"a@b","recipients":[" "],"attempt":1,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":0,"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"firstSeen":"2026-11-28T10:00:00Z"}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":1}""")]
    [InlineData("""{"v":1,"id":"x","content":"c","mailFrom":"a@b","recipients":["c@d"],"attempt":"one","firstSeen":"2026-11-28T10:00:00Z"}""")]
    public void Anything_but_a_complete_job_of_a_known_version_is_malformed(string body)
    {
        Assert.Throws<MalformedDeliveryJobException>(() => DeliveryJobSerializer.Deserialize(body));
        Assert.Throws<MalformedDeliveryJobException>(() => DeliveryJobSerializer.Deserialize(Encoding.UTF8.GetBytes(body)));
    }
}
