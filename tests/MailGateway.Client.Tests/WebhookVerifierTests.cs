using System.Globalization;
using System.Text;
using MailGateway.Client.Webhooks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using StandardWebhooks;

namespace MailGateway.Client.Tests;

/// <summary>The verifier against the independent StandardWebhooks package, and what it refuses.</summary>
public sealed class WebhookVerifierTests
{
    private const string Payload = """{"type":"message.delivered","data":{"id":"m1","subject":"Grüße ✓"}}""";

    private static readonly string Secret = WebhookVerifier.GenerateSecret();
    private static readonly string OtherSecret = WebhookVerifier.GenerateSecret();

    [Fact]
    public void A_payload_signed_by_the_StandardWebhooks_package_verifies()
    {
        var now = DateTimeOffset.UtcNow;
        var signature = new StandardWebhook(Secret).Sign("msg_1", now, Payload);

        var webhook = new WebhookVerifier(Secret).Verify("msg_1", Seconds(now), signature, Encoding.UTF8.GetBytes(Payload));

        Assert.Equal("msg_1", webhook.Id);
        Assert.Equal(now.ToUnixTimeSeconds(), webhook.Timestamp.ToUnixTimeSeconds());
        Assert.Equal(Payload, webhook.GetBodyText());
    }

    [Fact]
    public void A_payload_signed_by_this_verifier_verifies_with_the_StandardWebhooks_package()
    {
        var now = DateTimeOffset.UtcNow;
        var signature = new WebhookVerifier(Secret).Sign("msg_2", now, Encoding.UTF8.GetBytes(Payload));
        var headers = new HeaderDictionary
        {
            ["webhook-id"] = "msg_2",
            ["webhook-timestamp"] = Seconds(now),
            ["webhook-signature"] = signature,
        };

        new StandardWebhook(Secret).Verify(Payload, headers);

        Assert.StartsWith("v1,", signature, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_body_a_wrong_secret_and_a_changed_id_are_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var signature = new StandardWebhook(Secret).Sign("msg_3", now, Payload);
        var verifier = new WebhookVerifier(Secret);

        Assert.Equal(WebhookVerificationFailure.NoValidSignature, Refusal(verifier, "msg_3", Seconds(now), signature, Payload.Replace("m1", "m2", StringComparison.Ordinal)));
        Assert.Equal(WebhookVerificationFailure.NoValidSignature, Refusal(new WebhookVerifier(OtherSecret), "msg_3", Seconds(now), signature, Payload));
        Assert.Equal(WebhookVerificationFailure.NoValidSignature, Refusal(verifier, "msg_4", Seconds(now), signature, Payload));
        Assert.Equal(WebhookVerificationFailure.NoValidSignature, Refusal(verifier, "msg_3", Seconds(now.AddSeconds(1)), signature, Payload));
    }

    [Fact]
    public void A_timestamp_outside_the_tolerance_is_refused_either_way()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var signedAt = time.GetUtcNow();
        var signature = new StandardWebhook(Secret).Sign("msg_5", signedAt, Payload);
        var verifier = new WebhookVerifier([Secret], timeProvider: time);

        time.Advance(TimeSpan.FromMinutes(4));
        var stillFine = Refusal(verifier, "msg_5", Seconds(signedAt), signature, Payload);
        time.Advance(TimeSpan.FromMinutes(2));
        var tooOld = Refusal(verifier, "msg_5", Seconds(signedAt), signature, Payload);
        var early = new WebhookVerifier([Secret], timeProvider: new FakeTimeProvider(signedAt - TimeSpan.FromMinutes(6)));
        var tooNew = Refusal(early, "msg_5", Seconds(signedAt), signature, Payload);

        Assert.Null(stillFine);
        Assert.Equal(WebhookVerificationFailure.TimestampTooOld, tooOld);
        Assert.Equal(WebhookVerificationFailure.TimestampTooNew, tooNew);
        Assert.Equal(TimeSpan.FromMinutes(5), verifier.Tolerance);
    }

    [Fact]
    public void During_a_rotation_any_signature_may_match_any_secret()
    {
        var now = DateTimeOffset.UtcNow;
        var oldSignature = new StandardWebhook(OtherSecret).Sign("msg_6", now, Payload);
        var newSignature = new StandardWebhook(Secret).Sign("msg_6", now, Payload);
        var both = new WebhookVerifier([Secret, OtherSecret]);

        Assert.Null(Refusal(both, "msg_6", Seconds(now), oldSignature, Payload));
        Assert.Null(Refusal(both, "msg_6", Seconds(now), newSignature, Payload));
        Assert.Null(Refusal(new WebhookVerifier(Secret), "msg_6", Seconds(now), $"{oldSignature} {newSignature}", Payload));
        Assert.Null(Refusal(new WebhookVerifier(Secret), "msg_6", Seconds(now), $"v1a,c2lnbmF0dXJl v1,bm90IGEgbWFj {newSignature}", Payload));
        Assert.Equal(WebhookVerificationFailure.NoValidSignature, Refusal(new WebhookVerifier(Secret), "msg_6", Seconds(now), oldSignature, Payload));
    }

    [Theory]
    [InlineData(null, "1", "v1,x", WebhookVerificationFailure.MissingHeaders)]
    [InlineData("msg", "", "v1,x", WebhookVerificationFailure.MissingHeaders)]
    [InlineData("msg", "1", null, WebhookVerificationFailure.MissingHeaders)]
    [InlineData("msg", "yesterday", "v1,x", WebhookVerificationFailure.InvalidTimestamp)]
    [InlineData("msg", "-5", "v1,x", WebhookVerificationFailure.InvalidTimestamp)]
    [InlineData("msg", "99999999999999999999", "v1,x", WebhookVerificationFailure.InvalidTimestamp)]
    public void Missing_or_malformed_headers_are_refused(string? id, string? timestamp, string? signature, WebhookVerificationFailure expected)
    {
        Assert.Equal(expected, Refusal(new WebhookVerifier(Secret), id, timestamp, signature, Payload));
    }

    [Fact]
    public void Overlong_headers_are_refused_before_any_hashing()
    {
        var now = Seconds(DateTimeOffset.UtcNow);

        Assert.Equal(WebhookVerificationFailure.MalformedHeaders, Refusal(new WebhookVerifier(Secret), new string('i', 257), now, "v1,x", Payload));
        Assert.Equal(WebhookVerificationFailure.MalformedHeaders, Refusal(new WebhookVerifier(Secret), "msg", now, string.Join(' ', Enumerable.Repeat("v1,AAAA", 2000)), Payload));
    }

    [Theory]
    [InlineData("whsec_")]
    [InlineData("whsec_not base64!")]
    [InlineData(" ")]
    public void A_secret_that_is_not_whsec_base64_is_refused(string secret)
    {
        Assert.Throws<ArgumentException>(() => new WebhookVerifier(secret));
    }

    [Fact]
    public void The_exception_names_the_reason()
    {
        var error = Assert.Throws<WebhookVerificationException>(() => new WebhookVerifier(Secret).Verify("msg", Seconds(DateTimeOffset.UtcNow), "v1,AAAA", Encoding.UTF8.GetBytes(Payload)));

        Assert.Equal(WebhookVerificationFailure.NoValidSignature, error.Failure);
        Assert.Equal("No webhook signature matches.", error.Message);
    }

    internal static string Seconds(DateTimeOffset time) => time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static WebhookVerificationFailure? Refusal(WebhookVerifier verifier, string? id, string? timestamp, string? signature, string body) =>
        verifier.TryVerify(id, timestamp, signature, Encoding.UTF8.GetBytes(body), out var webhook, out var failure)
            ? (webhook.Id == id ? null : throw new InvalidOperationException("wrong id"))
            : failure;
}
