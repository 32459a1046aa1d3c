using System.Text;
using MailGateway.Core.Dkim;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Submissions;
using MailGateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Tests.Submissions;

/// <summary>
/// The accept entry for an already-formed MIME message (SMTP submission): the same accept port as the JSON entry, the
/// key's rules, and the composer's wire guarantees on what is stored — refused where a header is at fault, normalised
/// where only a body is.
/// </summary>
public sealed class MimeMessageSubmissionTests : IDisposable
{
    private const string Headers = "From: App <app@example.com>\r\nTo: b@example.net\r\nSubject: Hi\r\n";

    private readonly EmbeddedFixture _f = new();
    private readonly MessageLimitsOptions _limits = new();

    public void Dispose() => _f.Dispose();

    private MimeMessageSubmission Submission()
    {
        var limits = Options.Create(_limits);
        var signer = new DkimMessageSigner(Options.Create(new DkimOptions()), _f.Time, NullLogger<DkimMessageSigner>.Instance);
        return new MimeMessageSubmission(new MessageValidator(limits), limits, signer, _f.Acceptor, _f.Time, NullLogger<MimeMessageSubmission>.Instance);
    }

    private static MimeSubmissionRequest Request(string message, string mailFrom = "app@example.com", VerifiedApiKey? key = null, params string[] recipients) => new()
    {
        Sender = key ?? new VerifiedApiKey("key-1", ["example.com"]),
        Envelope = new Envelope(mailFrom, recipients.Length == 0 ? ["b@example.net"] : recipients),
        Content = Encoding.UTF8.GetBytes(message),
    };

    private async Task<string> StoredAsync(string id) =>
        Encoding.Latin1.GetString(await _f.SqliteContent.ReadAllAsync((await _f.Status.GetAsync(id, CancellationToken.None))!.ContentReference!));

    [Fact]
    public async Task A_message_is_accepted_as_sent_apart_from_a_Message_ID_and_Date_added_and_Bcc_removed()
    {
        var result = await Submission().SubmitAsync(Request(Headers + "Bcc: hidden@example.org\r\n\r\nHello.\r\n", recipients: ["b@example.net", "hidden@example.org"]), CancellationToken.None);

        Assert.Equal(SubmissionOutcome.Accepted, result.Outcome);
        var job = Assert.Single(await _f.Queue.LeaseAsync(5, TimeSpan.FromMinutes(1), CancellationToken.None)).Job;
        Assert.Equal(["b@example.net", "hidden@example.org"], job.Recipients);
        var stored = await StoredAsync(result.MessageId!);
        Assert.DoesNotContain("Bcc", stored, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"Message-Id: <{result.MessageId}@example.com>", stored, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Date: ", stored, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nHello.\r\n", stored, StringComparison.Ordinal);
        Assert.Equal("key-1", (await _f.Status.GetAsync(result.MessageId!, CancellationToken.None))!.Owner);
    }

    [Fact]
    public async Task An_existing_Message_ID_is_kept()
    {
        var result = await Submission().SubmitAsync(Request(Headers + "Message-ID: <mine@example.com>\r\n\r\nHello.\r\n"), CancellationToken.None);

        Assert.Contains("<mine@example.com>", await StoredAsync(result.MessageId!), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("app@evil.test", "From: App <app@example.com>", "mailFrom")]
    [InlineData("app@example.com", "From: App <app@evil.test>", "from")]
    [InlineData("app@example.com", "From: App <app@example.com>, Other <x@evil.test>", "from")]
    [InlineData("app@example.com", "From: App <app@example.com>\r\nSender: x@evil.test", "from")]
    public async Task Both_the_envelope_and_the_header_sender_must_be_in_the_key_domains(string mailFrom, string from, string field)
    {
        var message = Headers.Replace("From: App <app@example.com>", from, StringComparison.Ordinal) + "\r\nHello.\r\n";

        var result = await Submission().SubmitAsync(Request(message, mailFrom), CancellationToken.None);

        Assert.Equal(SubmissionOutcome.SenderNotAllowed, result.Outcome);
        Assert.Equal(field, Assert.Single(result.Errors!).Field);
        Assert.Empty(await _f.Queue.LeaseAsync(5, TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task A_key_without_the_send_scope_is_refused()
    {
        var result = await Submission().SubmitAsync(Request(Headers + "\r\nHello.\r\n", key: new VerifiedApiKey("reader", ["example.com"], [ApiKeyScopes.Read])), CancellationToken.None);

        Assert.Equal(SubmissionOutcome.SenderNotAllowed, result.Outcome);
        Assert.Equal(MimeMessageSubmission.MissingScope, Assert.Single(result.Errors!).Code);
    }

    [Theory]
    [InlineData("bare LF", ValidationCodes.UnsendableMessage)]
    [InlineData("long header", ValidationCodes.HeaderLineTooLong)]
    [InlineData("8-bit header", ValidationCodes.ForbiddenCharacters)]
    [InlineData("no From", ValidationCodes.Required)]
    [InlineData("two From", ValidationCodes.Required)]
    public async Task What_cannot_be_sent_safely_in_the_headers_is_refused(string kind, string code)
    {
        var message = kind switch
        {
            "bare LF" => Headers + "\r\nline one\nline two\r\n",
            "long header" => Headers + "X-Long: " + new string('a', 1000) + "\r\n\r\nHello.\r\n",
            "8-bit header" => Headers.Replace("Subject: Hi", "Subject: Grüße", StringComparison.Ordinal) + "\r\nHello.\r\n",
            "no From" => "To: b@example.net\r\nSubject: Hi\r\n\r\nHello.\r\n",
            _ => Headers + "From: app@example.com\r\n\r\nHello.\r\n",
        };

        var result = await Submission().SubmitAsync(Request(message), CancellationToken.None);

        Assert.Equal(SubmissionOutcome.Invalid, result.Outcome);
        Assert.Equal(code, Assert.Single(result.Errors!).Code);
    }

    [Fact]
    public async Task An_8bit_body_with_a_long_line_is_normalised_to_7bit_lines_of_at_most_998_octets()
    {
        var message = Headers + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + "Grüße " + new string('w', 3000) + "\r\n";

        var result = await Submission().SubmitAsync(Request(message), CancellationToken.None);

        Assert.Equal(SubmissionOutcome.Accepted, result.Outcome);
        var stored = await _f.SqliteContent.ReadAllAsync((await _f.Status.GetAsync(result.MessageId!, CancellationToken.None))!.ContentReference!);
        Assert.DoesNotContain(stored, b => b >= 0x80);
        Assert.All(Encoding.ASCII.GetString(stored).Split("\r\n"), line => Assert.InRange(line.Length, 0, 998));
        using var parsed = MimeKit.MimeMessage.Load(new MemoryStream(stored));
        Assert.Equal("Grüße " + new string('w', 3000), parsed.TextBody?.TrimEnd());
    }

    [Fact]
    public async Task Size_and_recipient_limits_are_the_message_limits()
    {
        _limits.MaxMessageBytes = 2048;
        _limits.MaxRecipients = 2;
        var big = await Submission().SubmitAsync(Request(Headers + "\r\n" + new string('x', 70) + string.Concat(Enumerable.Repeat("\r\n" + new string('x', 70), 40)) + "\r\n"), CancellationToken.None);
        var many = await Submission().SubmitAsync(Request(Headers + "\r\nHi.\r\n", recipients: ["a@example.net", "b@example.net", "c@example.net"]), CancellationToken.None);

        Assert.Equal(SubmissionOutcome.TooLarge, big.Outcome);
        Assert.Equal((SubmissionOutcome.Invalid, ValidationCodes.TooManyRecipients), (many.Outcome, Assert.Single(many.Errors!).Code));
        Assert.Empty(await _f.Queue.LeaseAsync(5, TimeSpan.FromMinutes(1), CancellationToken.None));
    }
}
