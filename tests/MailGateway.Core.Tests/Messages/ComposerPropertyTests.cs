using System.Globalization;
using CsCheck;
using MailGateway.Core.Messages;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MimeKit;

namespace MailGateway.Core.Tests.Messages;

/// <summary>
/// The composer's promises (README, "Message validation"), as properties over generated messages: what the caller gave
/// comes back when the MIME is parsed, and what is stored is valid SMTP data with no header the caller did not ask for.
/// CsCheck prints the seed of a failing case; set it with <c>seed:</c> to replay it.
/// </summary>
public sealed class ComposerPropertyTests
{
    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("MGW_PROPERTY_ITERATIONS"), out var n) ? n : 250;

    private static readonly IdnMapping Idn = new();

    // What the gateway itself writes at the top of every message (the structure headers of a single-part body too).
    private static readonly HashSet<string> GatewayHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-Id", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding",
    };

    private static readonly MessageValidator Validator = new(Options.Create(new MessageLimitsOptions()));

    private static MessageComposer Composer() =>
        new(Options.Create(new MessageLimitsOptions()), new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero)));

    [Fact]
    public void Every_valid_message_composes_and_parses_back_to_what_the_caller_gave()
    {
        var composed = 0;
        MessageGenerators.Message.Sample(message =>
        {
            if (Validator.Validate(message).Count > 0)
            {
                return;
            }

            var bytes = Composer().Compose(message, "prop-id").Bytes;
            Interlocked.Increment(ref composed);
            var parsed = MimeMessage.Load(new MemoryStream(bytes));

            AssertMailboxes([message.From], parsed.From);
            AssertMailboxes(message.To, parsed.To);
            AssertMailboxes(message.Cc, parsed.Cc);
            AssertMailboxes(message.ReplyTo, parsed.ReplyTo);
            Assert.Empty(parsed.Bcc);
            Assert.Equal(message.Subject ?? "", parsed.Subject);
            foreach (var header in message.Headers)
            {
                Assert.Equal(header.Value, parsed.Headers[header.Name]);
            }

            AssertBody(message.Text, parsed.TextBody);
            AssertBody(message.Html, parsed.HtmlBody);

            // With html, inline parts come first (inside multipart/related), then the attachments, each in the caller's order.
            var expected = message.Html is null
                ? [.. message.Attachments]
                : message.Attachments.Where(a => a.ContentId is not null).Concat(message.Attachments.Where(a => a.ContentId is null)).ToList();
            var parts = parsed.BodyParts.Where(p => p.ContentDisposition is not null).ToList();
            Assert.True(expected.Count == parts.Count,
                $"{expected.Count} attachments ({string.Join(", ", expected.Select(a => a.ContentType))}), {parts.Count} parsed: "
                + string.Join(", ", parsed.BodyParts.Select(p => p.ContentType.MimeType)));
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].FileName, parts[i].ContentDisposition!.FileName);
                Assert.Equal(ContentType.Parse(expected[i].ContentType).MimeType, parts[i].ContentType.MimeType, ignoreCase: true);
                Assert.Equal(expected[i].ContentId, parts[i].ContentId);
                using var content = new MemoryStream();
                if (parts[i] is MimePart part)
                {
                    part.Content!.DecodeTo(content);
                }
                else
                {
                    // message/rfc822 parses back as a MessagePart; its bytes are the decoded base64 of the stored part.
                    var raw = (MessagePart)parts[i];
                    raw.Message!.WriteTo(FormatOptions.Default, content);
                    continue;
                }

                Assert.Equal(expected[i].Content.ToArray(), content.ToArray());
            }
        }, iter: Iterations);

        // The generator is meant to produce valid messages: a property that composed nothing proved nothing.
        Assert.True(composed > Iterations / 2, $"only {composed} of {Iterations} generated messages were valid");
    }

    [Fact]
    public void Every_composed_message_is_crlf_only_short_lined_7bit_unless_an_address_needs_utf8_and_has_only_asked_for_headers()
    {
        MessageGenerators.Message.Sample(message =>
        {
            if (Validator.Validate(message).Count > 0)
            {
                return;
            }

            var bytes = Composer().Compose(message, "prop-id").Bytes;
            AssertValidSmtpData(bytes);

            var headerEnd = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.True(headerEnd > 0, "no blank line after the headers");
            var utf8Addresses = new[] { message.From }.Concat(message.To).Concat(message.Cc).Concat(message.ReplyTo).Any(a => !a.Address.All(char.IsAscii));
            Assert.True(bytes.AsSpan(headerEnd).IndexOfAnyInRange((byte)0x80, (byte)0xFF) < 0, "an 8-bit octet in the body");
            if (!utf8Addresses)
            {
                Assert.True(bytes.AsSpan(0, headerEnd).IndexOfAnyInRange((byte)0x80, (byte)0xFF) < 0, "an 8-bit octet in the headers of an all-ASCII message");
            }

            var parsed = MimeMessage.Load(new MemoryStream(bytes));
            var asked = new HashSet<string>(message.Headers.Select(h => h.Name), StringComparer.OrdinalIgnoreCase);
            foreach (var header in parsed.Headers)
            {
                Assert.True(GatewayHeaders.Contains(header.Field) || asked.Contains(header.Field), $"header '{header.Field}' was not asked for");
            }

            Assert.Equal(message.Cc.Count > 0, parsed.Headers.Contains(HeaderId.Cc));
            Assert.Equal(message.ReplyTo.Count > 0, parsed.Headers.Contains(HeaderId.ReplyTo));
            Assert.Equal(1, parsed.Headers.Count(h => h.Id == HeaderId.MessageId));
        }, iter: Iterations);
    }

    /// <summary>CRLF only, and no line over 998 octets, checked here independently of the composer's own <see cref="WireScan"/>.</summary>
    internal static void AssertValidSmtpData(ReadOnlySpan<byte> bytes)
    {
        var lineStart = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\r')
            {
                Assert.True(i + 1 < bytes.Length && bytes[i + 1] == '\n', $"bare CR at {i}");
            }
            else if (bytes[i] == '\n')
            {
                Assert.True(i > 0 && bytes[i - 1] == '\r', $"bare LF at {i}");
                Assert.True(i - 1 - lineStart <= 998, $"a line of {i - 1 - lineStart} octets at {lineStart}");
                lineStart = i + 1;
            }
        }

        Assert.True(bytes.Length - lineStart <= 998, "the last line is over 998 octets");
    }

    // Every CR or LF of the caller's is a line break (sent as CRLF; MimeKit's TextBody reads them back as LF).
    // Every CR or LF of the caller's is a line break (sent as CRLF; MimeKit's TextBody reads them back as LF). A body
    // that does not end with a line break may get one (FormatOptions.EnsureNewLine), depending on its encoding.
    private static void AssertBody(string? expected, string? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }

        var lines = System.Text.RegularExpressions.Regex.Replace(expected, "\r\n|\r|\n", "\n");
        Assert.NotNull(actual);
        Assert.Equal(lines, !lines.EndsWith('\n') && actual.EndsWith('\n') ? actual[..^1] : actual);
    }

    private static void AssertMailboxes(IReadOnlyList<EmailAddress> expected, InternetAddressList actual)
    {
        var mailboxes = actual.Mailboxes.ToList();
        Assert.Equal(expected.Count, mailboxes.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(Canonical(expected[i].Address), Canonical(mailboxes[i].Address));
            Assert.Equal(expected[i].DisplayName ?? "", mailboxes[i].Name ?? "");
        }
    }

    // The domain as the wire carries it (IDN domains travel as A-labels), the local part exactly.
    private static string Canonical(string address)
    {
        var at = address.LastIndexOf('@');
        var domain = address[(at + 1)..];
        return address[..at] + "@" + (domain.StartsWith('[') ? domain : Idn.GetAscii(domain).ToLowerInvariant());
    }
}
