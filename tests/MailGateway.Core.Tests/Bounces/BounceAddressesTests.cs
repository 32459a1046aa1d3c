using System.ComponentModel.DataAnnotations;
using MailGateway.Core.Bounces;
using Microsoft.Extensions.Options;
using MimeKit;

namespace MailGateway.Core.Tests.Bounces;

public sealed class BounceAddressesTests
{
    private const string Id = "0190f3a2b4c54d6e8f9012345678abcd";
    private static readonly BounceAddresses Addresses = New("bounces.example.com", new string('s', 32));

    private static BounceAddresses New(string? domain, string? secret) =>
        new(Options.Create(new BounceOptions { Domain = domain, Secret = secret }));

    [Fact]
    public void A_token_round_trips_and_fits_in_a_local_part()
    {
        var address = Addresses.For(Id, 7)!;
        Assert.Matches("^bounces\\+[a-z2-7]{45}@bounces\\.example\\.com$", address);
        Assert.True(address.IndexOf('@', StringComparison.Ordinal) <= 64);
        Assert.Equal(BounceAddressKind.Valid, Addresses.TryRead(address, out var id, out var index));
        Assert.Equal((Id, 7), (id, index));

        // Some MTAs change the case of a local part: still the same token.
        Assert.Equal(BounceAddressKind.Valid, Addresses.TryRead(address.ToUpperInvariant(), out _, out _));
        Assert.NotEqual(address, Addresses.For(Id, 8));
    }

    [Fact]
    public void Every_altered_character_another_secret_and_a_missing_token_are_forged()
    {
        var address = Addresses.For(Id, 0)!;
        var local = address[..address.IndexOf('@', StringComparison.Ordinal)];
        for (var i = "bounces+".Length; i < local.Length; i++)
        {
            var altered = local[..i] + (local[i] == 'a' ? 'b' : 'a') + local[(i + 1)..] + "@bounces.example.com";
            Assert.Equal(BounceAddressKind.Forged, Addresses.TryRead(altered, out _, out _));
        }

        Assert.Equal(BounceAddressKind.Forged, Addresses.TryRead(New("bounces.example.com", new string('t', 32)).For(Id, 0)!, out _, out _));
        Assert.Equal(BounceAddressKind.Forged, Addresses.TryRead("bounces@bounces.example.com", out _, out _));
        Assert.Equal(BounceAddressKind.Forged, Addresses.TryRead("bounces+" + new string('a', 500) + "@bounces.example.com", out _, out _));
        Assert.Equal(BounceAddressKind.Other, Addresses.TryRead(address.Replace("bounces.example.com", "example.net", StringComparison.Ordinal), out _, out _));
    }

    [Fact]
    public void Off_without_a_domain_and_for_an_id_that_is_not_the_gateway_s()
    {
        Assert.Null(New(null, null).For(Id, 0));
        Assert.Equal(BounceAddressKind.Other, New(null, null).TryRead("bounces+x@bounces.example.com", out _, out _));
        Assert.Null(Addresses.For("not-a-gateway-id", 0));
        Assert.Null(Addresses.For(Id, 70_000));
    }

    [Fact]
    public void Options_refuse_a_short_secret_and_a_bad_domain()
    {
        static List<ValidationResult> Check(BounceOptions o)
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(o, new ValidationContext(o), results, validateAllProperties: true);
            return results;
        }

        Assert.Empty(Check(new BounceOptions()));
        Assert.Contains(Check(new BounceOptions { Domain = "bounces.example.com", Secret = "short" }), r => r.ErrorMessage!.Contains("Secret", StringComparison.Ordinal));
        Assert.Contains(Check(new BounceOptions { Domain = "not a domain", Secret = new string('s', 32) }), r => r.ErrorMessage!.Contains("Domain", StringComparison.Ordinal));
        Assert.Empty(Check(new BounceOptions { Domain = "bounces.example.com", Secret = new string('s', 32) }));
    }
}

public sealed class BounceReportTests
{
    private static BounceReport Read(MimeMessage message)
    {
        using var stream = new MemoryStream();
        message.WriteTo(stream);
        stream.Position = 0;
        return BounceReport.Read(stream, CancellationToken.None);
    }

    private static MimeMessage Report(string reportType, MimeEntity machine) =>
        new([MailboxAddress.Parse("MAILER-DAEMON@relay.test")], [MailboxAddress.Parse("b@bounces.example.com")], "report",
            new MultipartReport(reportType) { new TextPart("plain") { Text = "human part" }, machine });

    private static MessageDeliveryStatus Status(params (string Action, string Status, string? Diagnostic)[] recipients)
    {
        var status = new MessageDeliveryStatus();
        status.StatusGroups.Add(new HeaderList { { "Reporting-MTA", "dns; relay.test" } });
        foreach (var (action, code, diagnostic) in recipients)
        {
            var group = new HeaderList { { "Final-Recipient", "rfc822; bob@example.net" }, { "Action", action }, { "Status", code } };
            if (diagnostic is not null)
            {
                group.Add("Diagnostic-Code", diagnostic);
            }

            status.StatusGroups.Add(group);
        }

        return status;
    }

    [Fact]
    public void A_failed_DSN_gives_its_status_diagnostic_and_final_recipient()
    {
        var report = Read(Report("delivery-status", Status(("delayed", "4.4.1", null), ("failed", "5.1.1", "smtp; 550 5.1.1 User unknown"))));
        Assert.Equal(new BounceReport(BounceReportKind.Failed, "5.1.1", "550 5.1.1 User unknown", "bob@example.net"), report);
    }

    [Fact]
    public void A_delay_a_plain_message_garbage_and_an_empty_report_are_not_bounces()
    {
        Assert.Equal(BounceReportKind.NotFailed, Read(Report("delivery-status", Status(("delayed", "4.4.1", null)))).Kind);
        Assert.Equal(BounceReportKind.NotFailed, Read(Report("delivery-status", Status(("failed", "4.0.0", null)))).Kind);
        Assert.Equal(BounceReportKind.None, Read(Report("delivery-status", Status())).Kind);
        Assert.Equal(BounceReportKind.None, Read(new MimeMessage([MailboxAddress.Parse("a@b.example")], [MailboxAddress.Parse("c@d.example")], "x", new TextPart("plain") { Text = "away" })).Kind);
        using var garbage = new MemoryStream([.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 37))]);
        Assert.Equal(BounceReportKind.None, BounceReport.Read(garbage, CancellationToken.None).Kind);
    }

    [Fact]
    public void An_ARF_report_is_a_complaint()
    {
        var feedback = new MessageFeedbackReport();
        feedback.Fields.Add("Feedback-Type", "abuse");
        feedback.Fields.Add("User-Agent", "test/1.0");
        feedback.Fields.Add("Version", "1");
        Assert.Equal(new BounceReport(BounceReportKind.Complaint, "abuse"), Read(Report("feedback-report", feedback)));
    }
}
