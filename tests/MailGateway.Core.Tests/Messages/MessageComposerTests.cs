using System.Text;
using MailGateway.Core.Messages;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MimeKit;

namespace MailGateway.Core.Tests.Messages;

public sealed class MessageComposerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 9, 30, 0, TimeSpan.Zero);

    private static MessageComposer Composer(string? domain = null) =>
        new(Options.Create(new MessageLimitsOptions { MessageIdDomain = domain }), new FakeTimeProvider(Now));

    private static OutboundMessage Message() => new()
    {
        From = new EmailAddress("sender@example.com", "Sender Name"),
        To = [new EmailAddress("to@example.org", "To Person")],
        Cc = [new EmailAddress("cc@example.org")],
        Bcc = [new EmailAddress("hidden@example.org")],
        ReplyTo = [new EmailAddress("reply@example.com")],
        Subject = "Grüße",
        Text = "plain",
    };

    private static MimeMessage Reparse(ComposedMessage composed) => MimeMessage.Load(new MemoryStream(composed.Bytes));

    [Fact]
    public void Compose_TextOnly_IsASingleTextPart()
    {
        var parsed = Reparse(Composer().Compose(Message(), "id1"));
        var part = Assert.IsType<TextPart>(parsed.Body);
        Assert.True(part.IsPlain);
        Assert.Equal("plain", part.Text.TrimEnd());
    }

    [Fact]
    public void Compose_TextAndHtml_IsMultipartAlternative()
    {
        var parsed = Reparse(Composer().Compose(Message() with { Html = "<p>html</p>" }, "id1"));
        var alternative = Assert.IsType<MultipartAlternative>(parsed.Body);
        Assert.Equal(["text/plain", "text/html"], alternative.Select(p => p.ContentType.MimeType));
    }

    [Theory]
    // Found by ComposerPropertyTests (CsCheck seed 1SHVJfHWCLP1 before the fix): MimeKit's word-by-word phrase
    // encoding split "'(Xo)(" next to a non-ASCII word and the reader gave back "'(Xo) (".
    [InlineData("ÀÉÎÕÜ ҼǰГ ݞ݊ȶ '(Xo)( ׋څ Dlrg")]
    [InlineData(" leading and trailing ")]
    [InlineData("tab\there")]
    [InlineData("a \"quoted\" word")]
    [InlineData("=?utf-8?q?looks_encoded?=")]
    [InlineData("two  spaces")]
    [InlineData("emoji😀 and 日本語")]
    public void Compose_DisplayName_ComesBackExactlyAsGiven(string name)
    {
        var message = Message() with
        {
            From = new EmailAddress("sender@example.com", name),
            To = [new EmailAddress("a@example.org", "Plain Name"), new EmailAddress("b@example.org", name), new EmailAddress("c@example.org")],
        };

        var parsed = Reparse(Composer().Compose(message, "id1"));

        Assert.Equal(name, Assert.Single(parsed.From.Mailboxes).Name);
        Assert.Equal(["Plain Name", name, ""], parsed.To.Mailboxes.Select(m => m.Name ?? ""));
        Assert.Equal(["a@example.org", "b@example.org", "c@example.org"], parsed.To.Mailboxes.Select(m => m.Address));
    }

    [Fact]
    public void Compose_LongNonAsciiDisplayName_IsFoldedIntoShortLinesOfWholeCharacters()
    {
        var name = string.Concat(Enumerable.Repeat("Grüße 😀 日本語 ", 60)).Trim();
        var composed = Composer().Compose(Message() with { From = new EmailAddress("sender@example.com", name) }, "id1");

        var text = Encoding.UTF8.GetString(composed.Bytes);
        var lines = text[..text.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
        var from = lines.SkipWhile(l => !l.StartsWith("From:", StringComparison.Ordinal))
            .TakeWhile((l, i) => i == 0 || l.StartsWith(' ') || l.StartsWith('\t')).ToList();
        Assert.True(from.Count > 10, "a name of about 900 characters is folded");
        Assert.All(from, line => Assert.True(line.Length <= 78, $"line of {line.Length}: {line}"));
        Assert.Equal(name, Assert.Single(Reparse(composed).From.Mailboxes).Name);
    }

    [Fact]
    public void Compose_InlinePartWithoutHtml_IsKeptAsAnAttachmentWithItsContentId()
    {
        // Found by ComposerPropertyTests: BodyBuilder drops linked resources when there is no html body, so an
        // inline part of a text-only message vanished while the API answered 202.
        var parsed = Reparse(Composer().Compose(Message() with
        {
            Attachments = [new Attachment("logo.png", "image/png", new byte[] { 137, 80, 78, 71 }, "logo")],
        }, "id1"));

        var image = Assert.IsType<MimePart>(Assert.Single(parsed.BodyParts, p => p.ContentDisposition is not null));
        Assert.Equal("logo", image.ContentId);
        Assert.Equal("logo.png", image.FileName);
    }

    [Fact]
    public void Compose_InlineImage_IsMultipartRelatedWithContentId()
    {
        var parsed = Reparse(Composer().Compose(Message() with
        {
            Html = "<img src=\"cid:logo\">",
            Attachments = [new Attachment("logo.png", "image/png", new byte[] { 137, 80, 78, 71 }, "logo")],
        }, "id1"));

        var alternative = Assert.IsType<MultipartAlternative>(parsed.Body);
        var related = Assert.IsType<MultipartRelated>(alternative[1]);
        var image = Assert.IsType<MimePart>(related[1]);
        Assert.Equal("logo", image.ContentId);
        Assert.Equal("image/png", image.ContentType.MimeType);
    }

    [Fact]
    public void Compose_Attachment_IsMultipartMixed()
    {
        var bytes = Encoding.UTF8.GetBytes("a,b\n1,2\n");
        var parsed = Reparse(Composer().Compose(Message() with
        {
            Html = "<p>x</p>",
            Attachments = [new Attachment("report.csv", "text/csv", bytes)],
        }, "id1"));

        var mixed = Assert.IsType<Multipart>(parsed.Body);
        Assert.Equal("multipart/mixed", mixed.ContentType.MimeType);
        Assert.IsType<MultipartAlternative>(mixed[0]);
        var attachment = Assert.IsAssignableFrom<MimePart>(mixed[1]);
        Assert.True(attachment.IsAttachment);
        Assert.Equal("report.csv", attachment.FileName);
        using var decoded = new MemoryStream();
        attachment.Content!.DecodeTo(decoded);
        Assert.Equal(bytes, decoded.ToArray());
    }

    [Fact]
    public void Compose_MessageId_IsTheGatewayIdAtTheSenderDomain_AndStable()
    {
        var first = Composer().Compose(Message(), "0193a5b2c4d5");
        var second = Composer().Compose(Message(), "0193a5b2c4d5");

        Assert.Equal("0193a5b2c4d5@example.com", Reparse(first).MessageId);
        Assert.Equal(Reparse(first).MessageId, Reparse(second).MessageId);
    }

    [Fact]
    public void Compose_MessageIdDomain_CanBeConfigured() =>
        Assert.Equal("id1@mail.gateway.test", Reparse(Composer("mail.gateway.test").Compose(Message(), "id1")).MessageId);

    [Fact]
    public void Compose_Date_ComesFromTheTimeProvider() =>
        Assert.Equal(Now, Reparse(Composer().Compose(Message(), "id1")).Date);

    [Fact]
    public void Compose_Bcc_IsInTheEnvelopeButNotInTheHeaders()
    {
        var composed = Composer().Compose(Message(), "id1");

        Assert.DoesNotContain("hidden@example.org", Encoding.UTF8.GetString(composed.Bytes), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["to@example.org", "cc@example.org", "hidden@example.org"], composed.Envelope.Recipients);
        Assert.Equal("sender@example.com", composed.Envelope.MailFrom);
    }

    [Fact]
    public void Compose_Envelope_DeduplicatesRecipients()
    {
        var composed = Composer().Compose(Message() with { Cc = [new("TO@example.org")], Bcc = [] }, "id1");
        Assert.Equal(["to@example.org"], composed.Envelope.Recipients);
    }

    [Fact]
    public void Compose_HeadersAndAddresses_AreWritten()
    {
        var parsed = Reparse(Composer().Compose(Message() with { Headers = [new("X-Campaign", "spring")] }, "id1"));

        Assert.Equal("spring", parsed.Headers["X-Campaign"]);
        Assert.Equal("Grüße", parsed.Subject);
        Assert.Equal("\"Sender Name\" <sender@example.com>", parsed.From.ToString());
        Assert.Equal("reply@example.com", parsed.ReplyTo.Mailboxes.Single().Address);
        Assert.Equal("cc@example.org", parsed.Cc.Mailboxes.Single().Address);
    }

    [Fact]
    public void Compose_Bytes_AreSevenBitWithCrlfLineEndings()
    {
        var composed = Composer().Compose(Message() with { Text = "Ünïcödé line\nnext line " + new string('x', 2000) }, "id1");
        var text = Encoding.Latin1.GetString(composed.Bytes);

        Assert.All(composed.Bytes, b => Assert.True(b < 128));
        Assert.DoesNotContain("\n", text.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.All(text.Split("\r\n"), line => Assert.True(line.Length <= 998));
    }

    [Fact]
    public void Compose_TagsAndMetadata_AreNotEmittedAsHeaders()
    {
        var composed = Composer().Compose(Message() with
        {
            Tags = ["welcome-tag"],
            Metadata = new Dictionary<string, string> { ["customer"] = "cust-4711" },
        }, "id1");
        var text = Encoding.UTF8.GetString(composed.Bytes);

        Assert.DoesNotContain("welcome-tag", text, StringComparison.Ordinal);
        Assert.DoesNotContain("cust-4711", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\rb", "a\r\nb")]
    [InlineData("a\nb", "a\r\nb")]
    [InlineData("a\r\nb", "a\r\nb")]
    [InlineData("a\r\r\nb\n\rc", "a\r\n\r\nb\r\n\r\nc")]
    [InlineData("hello\r.\r\nMAIL FROM:<x@example.net>", "hello\r\n.\r\nMAIL FROM:<x@example.net>")]
    public void Compose_BareCrAndLfInTextAndHtml_BecomeCrlf(string text, string expected)
    {
        var composed = Composer().Compose(Message() with { Text = text, Html = text }, "id1");

        Assert.False(WireScan.Of(composed.Bytes).BareLineBreaks);
        var alternative = Assert.IsType<MultipartAlternative>(Reparse(composed).Body);
        Assert.All(alternative.OfType<TextPart>(), part =>
        {
            using var decoded = new MemoryStream();
            part.Content!.DecodeTo(decoded);
            Assert.Equal(expected, Encoding.UTF8.GetString(decoded.ToArray()).TrimEnd('\r', '\n'));
        });
    }

    [Fact]
    public void Compose_MessageRfc822Attachment_IsOpaqueBase64NotParsed()
    {
        var valid = Encoding.UTF8.GetBytes("From: a@example.org\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße " + new string('x', 3000) + "\r\n");
        var malformed = new byte[] { 0, 0xff, (byte)'\r', (byte)':', (byte)'\n' };

        var composed = Composer().Compose(Message() with
        {
            Attachments = [new Attachment("a.eml", "message/rfc822", valid), new Attachment("b.eml", "message/rfc822", malformed)],
        }, "id1");

        var scan = WireScan.Of(composed.Bytes);
        Assert.True(scan.IsValidSmtpData);
        Assert.False(scan.EightBitBody);
        var parts = Composer().Compose(Message() with { Attachments = [new Attachment("a.eml", "message/rfc822", valid)] }, "id2").Message.Attachments;
        Assert.IsType<MimePart>(Assert.Single(parts));
        var reparsed = Reparse(composed).Attachments.Cast<MimePart>().ToList();
        Assert.All(reparsed, p => Assert.Equal(ContentEncoding.Base64, p.ContentTransferEncoding));
        Assert.Equal([valid, malformed], reparsed.Select(p =>
        {
            using var decoded = new MemoryStream();
            p.Content!.DecodeTo(decoded);
            return decoded.ToArray();
        }));
    }

    [Fact]
    public void Compose_HeaderBlockLargerThanTheLimit_IsAFieldError()
    {
        var composer = new MessageComposer(Options.Create(new MessageLimitsOptions { MaxHeaderBytes = 2048 }), new FakeTimeProvider(Now));

        var error = Assert.Throws<MessageCompositionException>(() => composer.Compose(Message() with
        {
            Headers = [.. Enumerable.Range(0, 10).Select(i => new MessageHeader("X-H" + i, new string('v', 300)))],
        }, "id1")).Error;

        Assert.Equal(("headers", ValidationCodes.HeadersTooLarge), (error.Field, error.Code));
    }
}
