using MailGateway.Core.Messages;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Tests.Messages;

public sealed class MessageValidatorTests
{
    private static readonly MessageValidator Validator = new(Options.Create(new MessageLimitsOptions { MaxRecipients = 3, MaxMessageBytes = 10_000 }));

    private static OutboundMessage Valid() => new()
    {
        From = new EmailAddress("sender@example.com", "Sender"),
        To = [new EmailAddress("rcpt@example.org")],
        Subject = "Hello",
        Text = "Body",
    };

    private static ValidationError Single(OutboundMessage message) => Assert.Single(Validator.Validate(message));

    [Fact]
    public void Validate_ValidMessage_HasNoErrors() => Assert.Empty(Validator.Validate(Valid()));

    [Theory]
    [InlineData("user@example.com")]
    [InlineData("first.last+tag@sub.example.co.uk")]
    [InlineData("\"quoted local\"@example.com")]
    [InlineData("user@[192.0.2.1]")]
    [InlineData("user@[IPv6:2001:db8::1]")]
    [InlineData("josé@bücher.example")]
    [InlineData("o'brien@example.com")]
    public void Validate_AcceptsValidAddressForms(string address) =>
        Assert.Empty(Validator.Validate(Valid() with { To = [new EmailAddress(address)] }));

    [Theory]
    [InlineData("plainaddress")]
    [InlineData("@example.com")]
    [InlineData("user@")]
    [InlineData("user@@example.com")]
    [InlineData(".user@example.com")]
    [InlineData("user.@example.com")]
    [InlineData("us..er@example.com")]
    [InlineData("us er@example.com")]
    [InlineData("user@exa mple.com")]
    [InlineData("user@-example.com")]
    [InlineData("user@example..com")]
    [InlineData("user@example.com.")]
    [InlineData("user@192.0.2.1")]
    [InlineData("user@[300.0.0.1]")]
    [InlineData("user@exa_mple.com")]
    [InlineData("<user@example.com>")]
    [InlineData("user@example.com, other@example.com")]
    public void Validate_RejectsInvalidAddress(string address)
    {
        var error = Single(Valid() with { To = [new EmailAddress(address)] });
        Assert.Equal("to[0].address", error.Field);
        Assert.Equal(ValidationCodes.InvalidAddress, error.Code);
    }

    [Fact]
    public void Validate_LocalPartOver64Octets_IsRejected()
    {
        var error = Single(Valid() with { To = [new EmailAddress(new string('a', 65) + "@example.com")] });
        Assert.Equal(("to[0].address", ValidationCodes.LocalPartTooLong), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_LocalPartLimit_CountsOctetsNotCharacters()
    {
        // 33 two-byte characters: 33 chars, 66 octets.
        var error = Single(Valid() with { To = [new EmailAddress(new string('é', 33) + "@example.com")] });
        Assert.Equal(ValidationCodes.LocalPartTooLong, error.Code);
    }

    [Fact]
    public void Validate_LocalPartOfExactly64Octets_IsAccepted() =>
        Assert.Empty(Validator.Validate(Valid() with { To = [new EmailAddress(new string('a', 64) + "@example.com")] }));

    [Fact]
    public void Validate_DomainOver255Octets_IsRejected()
    {
        var domain = string.Join('.', Enumerable.Repeat(new string('d', 63), 4)) + ".com"; // 259 octets
        var error = Single(Valid() with { Cc = [new EmailAddress("a@" + domain)] });
        Assert.Equal(("cc[0].address", ValidationCodes.DomainTooLong), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_PathOver256Octets_IsRejected()
    {
        var domain = string.Join('.', Enumerable.Repeat(new string('d', 60), 3)) + ".example.com"; // 194 octets
        var error = Single(Valid() with { Bcc = [new EmailAddress(new string('l', 60) + "@" + domain)] }); // 255 + <> = 257
        Assert.Equal(("bcc[0].address", ValidationCodes.PathTooLong), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_NoRecipients_IsRejected()
    {
        var error = Single(Valid() with { To = [] });
        Assert.Equal(("to", ValidationCodes.NoRecipients), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_MoreRecipientsThanConfigured_IsRejected()
    {
        var error = Single(Valid() with
        {
            To = [new("a@example.org"), new("b@example.org")],
            Cc = [new("c@example.org")],
            Bcc = [new("d@example.org")],
        });
        Assert.Equal(("to", ValidationCodes.TooManyRecipients), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_DefaultRecipientLimitIs50()
    {
        var validator = new MessageValidator(Options.Create(new MessageLimitsOptions()));
        var fifty = Enumerable.Range(0, 50).Select(i => new EmailAddress($"r{i}@example.org")).ToList();
        Assert.Empty(validator.Validate(Valid() with { To = fifty }));
        Assert.Equal(ValidationCodes.TooManyRecipients, Assert.Single(validator.Validate(Valid() with { To = [.. fifty, new("x@example.org")] })).Code);
    }

    [Fact]
    public void Validate_NoBody_IsRejected()
    {
        var error = Single(Valid() with { Text = null, Html = "" });
        Assert.Equal(("text", ValidationCodes.BodyRequired), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_HtmlOnlyBody_IsAccepted() => Assert.Empty(Validator.Validate(Valid() with { Text = null, Html = "<p>Hi</p>" }));

    [Theory]
    [InlineData("Hello\r\nBcc: victim@example.org")]
    [InlineData("Hello\nWorld")]
    [InlineData("Hello\rWorld")]
    [InlineData("Hello\0World")]
    public void Validate_ControlCharactersInSubject_AreRejected(string subject)
    {
        var error = Single(Valid() with { Subject = subject });
        Assert.Equal(("subject", ValidationCodes.ForbiddenCharacters), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_ControlCharactersInDisplayName_AreRejected()
    {
        var error = Single(Valid() with { From = new EmailAddress("sender@example.com", "Evil\r\nX-Injected: 1") });
        Assert.Equal(("from.name", ValidationCodes.ForbiddenCharacters), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_ControlCharactersInReplyToName_AreRejected()
    {
        var error = Single(Valid() with { ReplyTo = [new EmailAddress("r@example.com", "a\nb")] });
        Assert.Equal(("replyTo[0].name", ValidationCodes.ForbiddenCharacters), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_ControlCharactersInAddress_AreRejected()
    {
        var error = Single(Valid() with { To = [new EmailAddress("rcpt@example.org\r\nRCPT TO:<x@evil.example>")] });
        Assert.Equal(("to[0].address", ValidationCodes.ForbiddenCharacters), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_ControlCharactersInHeaderValue_AreRejected()
    {
        var error = Single(Valid() with { Headers = [new MessageHeader("X-Campaign", "a\r\nBcc: x@example.org")] });
        Assert.Equal(("headers[0].value", ValidationCodes.ForbiddenCharacters), (error.Field, error.Code));
    }

    [Theory]
    [InlineData("From")]
    [InlineData("to")]
    [InlineData("CC")]
    [InlineData("Bcc")]
    [InlineData("Subject")]
    [InlineData("Date")]
    [InlineData("Message-ID")]
    [InlineData("MIME-Version")]
    [InlineData("Content-Type")]
    [InlineData("Content-Transfer-Encoding")]
    [InlineData("Content-Anything")]
    [InlineData("Received")]
    [InlineData("Return-Path")]
    [InlineData("Sender")]
    [InlineData("Reply-To")]
    public void Validate_StructuralHeader_IsRejected(string name)
    {
        var error = Single(Valid() with { Headers = [new MessageHeader(name, "value")] });
        Assert.Equal(("headers[0].name", ValidationCodes.ReservedHeader), (error.Field, error.Code));
    }

    [Theory]
    [InlineData("X Space")]
    [InlineData("X:Colon")]
    [InlineData("X-Ünicode")]
    public void Validate_InvalidHeaderName_IsRejected(string name)
    {
        var error = Single(Valid() with { Headers = [new MessageHeader(name, "value")] });
        Assert.Equal(("headers[0].name", ValidationCodes.InvalidHeaderName), (error.Field, error.Code));
    }

    [Fact]
    public void Validate_CustomHeaders_AreAccepted() =>
        Assert.Empty(Validator.Validate(Valid() with
        {
            Headers = [new("X-Campaign", "spring"), new("List-Unsubscribe", "<mailto:unsub@example.com>")],
        }));

    [Fact]
    public void Validate_AttachmentProblems_AreEachReported()
    {
        var errors = Validator.Validate(Valid() with
        {
            Attachments =
            [
                new Attachment("", "text/plain", new byte[] { 1 }),
                new Attachment("a.txt", "not a type", new byte[] { 1 }),
                new Attachment("b\r\n.txt", "multipart/mixed", new byte[] { 1 }),
                new Attachment("c.png", "image/png", new byte[] { 1 }, "logo"),
                new Attachment("d.png", "image/png", new byte[] { 1 }, "logo"),
                new Attachment("e.png", "image/png", new byte[] { 1 }, "bad id"),
            ],
        });

        Assert.Equal(
            [
                ("attachments[0].filename", ValidationCodes.Required),
                ("attachments[1].contentType", ValidationCodes.InvalidContentType),
                ("attachments[2].filename", ValidationCodes.ForbiddenCharacters),
                ("attachments[2].contentType", ValidationCodes.InvalidContentType),
                ("attachments[4].contentId", ValidationCodes.DuplicateContentId),
                ("attachments[5].contentId", ValidationCodes.ForbiddenCharacters),
            ],
            errors.Select(e => (e.Field, e.Code)));
    }

    [Fact]
    public void Validate_ReportsEveryProblemAtOnce()
    {
        var errors = Validator.Validate(new OutboundMessage
        {
            From = new EmailAddress("not-an-address"),
            To = [],
            Subject = "a\nb",
            Headers = [new("Date", "now")],
        });

        Assert.Equal(
            [
                ("from.address", ValidationCodes.InvalidAddress),
                ("to", ValidationCodes.NoRecipients),
                ("subject", ValidationCodes.ForbiddenCharacters),
                ("text", ValidationCodes.BodyRequired),
                ("headers[0].name", ValidationCodes.ReservedHeader),
            ],
            errors.Select(e => (e.Field, e.Code)));
        Assert.All(errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Message)));
    }

    [Fact]
    public void CheckComposedSize_OverTheLimit_IsAnError()
    {
        Assert.Null(Validator.CheckComposedSize(10_000));
        Assert.Equal(ValidationCodes.MessageTooLarge, Validator.CheckComposedSize(10_001)?.Code);
    }

    [Fact]
    public void DefaultSizeLimitIs10MB() => Assert.Equal(10L * 1024 * 1024, new MessageLimitsOptions().MaxMessageBytes);
}

public sealed class MessageLimitTests
{
    private static readonly MessageValidator Validator = new(Options.Create(new MessageLimitsOptions()));

    private static OutboundMessage Valid() => new()
    {
        From = new EmailAddress("sender@example.com"),
        To = [new EmailAddress("rcpt@example.org")],
        Text = "Body",
    };

    private static (string Field, string Code) Single(OutboundMessage message)
    {
        var error = Assert.Single(Validator.Validate(message));
        return (error.Field, error.Code);
    }

    [Fact]
    public void The_defaults_accept_every_value_at_its_limit()
    {
        var message = Valid() with
        {
            From = new EmailAddress("sender@example.com", new string('n', 998)),
            Subject = new string('s', 998),
            Headers = [.. Enumerable.Range(0, 50).Select(i => new MessageHeader("X-H" + i, string.Join(' ', Enumerable.Repeat("word", 199))))],
            Tags = [.. Enumerable.Range(0, 10).Select(i => new string('t', 127) + i)],
            Metadata = Enumerable.Range(0, 10).ToDictionary(i => new string('k', 39) + i, _ => new string('v', 500)),
        };

        Assert.Empty(Validator.Validate(message));
    }

    [Fact]
    public void A_subject_over_998_characters_is_subject_too_long() =>
        Assert.Equal(("subject", ValidationCodes.SubjectTooLong), Single(Valid() with { Subject = new string('s', 999) }));

    [Fact]
    public void A_header_value_over_998_characters_is_header_value_too_long() =>
        Assert.Equal(("headers[0].value", ValidationCodes.HeaderValueTooLong), Single(Valid() with { Headers = [new("X-A", new string('v', 999))] }));

    [Fact]
    public void A_4_MB_header_value_is_refused_without_being_encoded() =>
        Assert.Equal(("headers[0].value", ValidationCodes.HeaderValueTooLong), Single(Valid() with { Headers = [new("X-A", new string('v', 4 << 20))] }));

    [Fact]
    public void A_header_that_cannot_be_folded_under_998_octets_is_header_line_too_long() =>
        Assert.Equal(("headers[0].value", ValidationCodes.HeaderLineTooLong),
            Single(Valid() with { Headers = [new("List-Unsubscribe", "<https://example.com/" + new string('u', 976) + ">")] }));

    [Fact]
    public void More_than_50_headers_is_too_many_headers() =>
        Assert.Equal(("headers", ValidationCodes.TooManyHeaders), Single(Valid() with { Headers = [.. Enumerable.Range(0, 51).Select(i => new MessageHeader("X-H" + i, "v"))] }));

    [Fact]
    public void Tags_are_bounded_in_count_and_length()
    {
        Assert.Equal(("tags", ValidationCodes.TooManyTags), Single(Valid() with { Tags = [.. Enumerable.Range(0, 1_000_000).Select(i => "t")] }));
        Assert.Equal(("tags[1]", ValidationCodes.TagTooLong), Single(Valid() with { Tags = ["ok", new string('t', 129)] }));
    }

    [Fact]
    public void Metadata_is_bounded_in_count_key_value_and_total()
    {
        Assert.Equal(("metadata", ValidationCodes.TooManyMetadataEntries), Single(Valid() with { Metadata = Enumerable.Range(0, 51).ToDictionary(i => "k" + i, _ => "v") }));
        Assert.Equal(ValidationCodes.MetadataKeyTooLong, Single(Valid() with { Metadata = new Dictionary<string, string> { [new string('k', 41)] = "v" } }).Code);
        Assert.Equal(ValidationCodes.MetadataKeyTooLong, Single(Valid() with { Metadata = new Dictionary<string, string> { [""] = "v" } }).Code);
        Assert.Equal(("metadata.k", ValidationCodes.MetadataValueTooLong), Single(Valid() with { Metadata = new Dictionary<string, string> { ["k"] = new string('v', 501) } }));
        Assert.Equal(("metadata", ValidationCodes.MetadataTooLarge), Single(Valid() with { Metadata = Enumerable.Range(0, 30).ToDictionary(i => "k" + i, _ => new string('v', 400)) }));
    }

    [Fact]
    public void Display_names_file_names_content_types_and_content_ids_are_bounded()
    {
        Assert.Equal(("to[0].name", ValidationCodes.ValueTooLong), Single(Valid() with { To = [new EmailAddress("rcpt@example.org", new string('n', 999))] }));
        Assert.Equal(("attachments[0].filename", ValidationCodes.ValueTooLong), Single(Valid() with { Attachments = [new Attachment(new string('f', 999), "text/plain", new byte[1])] }));
        Assert.Equal(("attachments[0].contentType", ValidationCodes.ValueTooLong), Single(Valid() with { Attachments = [new Attachment("f", "text/plain; a=" + new string('a', 999), new byte[1])] }));
        Assert.Equal(("attachments[0].contentId", ValidationCodes.ValueTooLong), Single(Valid() with { Attachments = [new Attachment("f", "image/png", new byte[1], new string('c', 256))] }));
    }

    [Fact]
    public void An_unterminated_quote_in_a_content_type_is_invalid_not_repaired() =>
        Assert.Equal(("attachments[0].contentType", ValidationCodes.InvalidContentType),
            Single(Valid() with { Attachments = [new Attachment("f", "text/plain; charset=\"utf-8", new byte[1])] }));
}
