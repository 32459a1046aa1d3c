using System.Text;
using MailGateway.Core.Delivery;
using MailGateway.Core.Messages;
using MailGateway.Testing;
using static MailGateway.Core.Tests.Delivery.EngineHarness;

namespace MailGateway.Core.Tests.Delivery;

/// <summary>The engine sends the stored bytes as they are: never parsed, never re-encoded, never an invalid line.</summary>
public sealed class StoredContentTests
{
    private static readonly Envelope Envelope = new("sender@example.com", ["rcpt@example.org"]);

    [Fact]
    public async Task A_message_MimeKit_would_take_minutes_to_parse_is_sent_byte_for_byte_without_parsing()
    {
        // A 4 MB folded header: MimeMessage.Load spends minutes on it (super-linear); sending the stored bytes is linear.
        var folded = new StringBuilder("X-Poison: start");
        while (folded.Length < 4 * 1024 * 1024)
        {
            folded.Append("\r\n\t").Append('p', 76);
        }

        var stored = Encoding.ASCII.GetBytes("From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: poison\r\nMessage-ID: <p@example.com>\r\n"
            + folded + "\r\n\r\nbody\r\n.\r\n..dots\r\n");
        await using var relay = await TestRelay.StartAsync(new() { MaxMessageSize = 16 * 1024 * 1024 });
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(new DeliveryRequest("poison", stored, Envelope), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(stored, Assert.Single(relay.Messages).Data);
    }

    [Fact]
    public async Task Stored_bytes_are_not_re_encoded_even_where_MimeKit_would_rewrite_them()
    {
        // Headers in an order and folding MimeKit would normalise, a body in 8-bit-safe quoted-printable as stored.
        var stored = Encoding.ASCII.GetBytes("subject:   spaced   \r\nFROM: sender@example.com\r\nX-Folded: a\r\n  b\r\n\r\n=E4=F6=FC soft=\r\nbreak\r\n");
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(new DeliveryRequest("raw", stored, Envelope), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(stored, Assert.Single(relay.Messages).Data);
    }

    [Fact]
    public async Task Bare_CR_and_LF_in_content_stored_before_the_fix_go_out_as_CRLF()
    {
        var stored = Encoding.ASCII.GetBytes("From: sender@example.com\r\nSubject: old\r\n\r\nhello\r.\r\nMAIL FROM:<x@example.net>\nend\r\n");
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(new DeliveryRequest("old", stored, Envelope), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal("From: sender@example.com\r\nSubject: old\r\n\r\nhello\r\n.\r\nMAIL FROM:<x@example.net>\r\nend\r\n",
            Encoding.ASCII.GetString(Assert.Single(relay.Messages).Data));
    }

    [Fact]
    public async Task A_stored_line_over_998_octets_fails_without_reaching_the_relay()
    {
        var stored = Encoding.ASCII.GetBytes("From: sender@example.com\r\n\r\n" + new string('x', 3008) + "\r\n");
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(new DeliveryRequest("long", stored, Envelope), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("3008 octets", outcome.Reason, StringComparison.Ordinal);
        Assert.Empty(relay.Messages);
    }

    [Fact]
    public async Task UTF_8_addresses_are_sent_with_SMTPUTF8_when_the_relay_offers_it()
    {
        var composed = new MessageComposer(Microsoft.Extensions.Options.Options.Create(new MessageLimitsOptions()), TimeProvider.System).Compose(new OutboundMessage
        {
            From = new EmailAddress("sender@example.com"),
            To = [new EmailAddress("jörg@bücher.example", "Jörg")],
            Text = "Grüße",
        }, "utf8");
        Assert.True(WireScan.Of(composed.Bytes).EightBitHeaders);
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(composed), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(composed.Bytes, Assert.Single(relay.Messages).Data);
    }

    [Fact]
    public void The_wire_scan_finds_bare_line_breaks_long_lines_and_8_bit_octets()
    {
        Assert.Equal(new WireScan(false, 4, false, false), WireScan.Of("a: b\r\n\r\nxyz\r\n"u8));
        Assert.True(WireScan.Of("a\rb\r\n"u8).BareLineBreaks);
        Assert.True(WireScan.Of("a\nb\r\n"u8).BareLineBreaks);
        Assert.True(WireScan.Of("a\r\n\r\nb\r"u8).BareLineBreaks);
        Assert.Equal(999, WireScan.Of(Encoding.ASCII.GetBytes(new string('x', 999) + "\r\n")).LongestLine);
        Assert.Equal(new WireScan(false, 4, true, false), WireScan.Of(Encoding.Latin1.GetBytes("a: \u00ff\r\n\r\nb\r\n")));
        Assert.Equal(new WireScan(false, 4, false, true), WireScan.Of(Encoding.Latin1.GetBytes("a: b\r\n\r\nb\u00ff\r\n")));
        Assert.Equal("a\r\nb\r\n\r\nc\r\n\r\n", WireScan.NormalizeLineBreaks("a\rb\r\r\nc\n\r"));
        Assert.Equal("a\r\nb\r\n\r\nc\r\n\r\n"u8.ToArray(), WireScan.NormalizeLineBreaks("a\rb\r\r\nc\n\r"u8));
    }
}
