using MimeKit;

namespace MailGateway.Testing;

/// <summary>Reports a remote MTA sends to a bounce address, composed to their RFCs with MimeKit (for the hosts' bounce tests).</summary>
public static class BounceReports
{
    /// <summary>A DSN as RFC 3464 lays it out: multipart/report of a human part, message/delivery-status and the original headers.</summary>
    public static MimeMessage Dsn(string to, string recipient, string status, string diagnostic, string action = "failed")
    {
        var report = new MultipartReport("delivery-status");
        report.Add(new TextPart("plain") { Text = "This is the mail system at host relay.test.\r\n\r\nYour message could not be delivered.\r\n" });
        var delivery = new MessageDeliveryStatus();
        delivery.StatusGroups.Add(new HeaderList
        {
            { "Reporting-MTA", "dns; relay.test" },
            { "Arrival-Date", DateTimeOffset.UtcNow.ToString("r", System.Globalization.CultureInfo.InvariantCulture) },
        });
        delivery.StatusGroups.Add(new HeaderList
        {
            { "Final-Recipient", "rfc822; " + recipient },
            { "Original-Recipient", "rfc822; " + recipient },
            { "Action", action },
            { "Status", status },
            { "Remote-MTA", "dns; mx.example.net" },
            { "Diagnostic-Code", diagnostic },
        });
        report.Add(delivery);
        report.Add(new TextRfc822Headers { Message = new MimeMessage([MailboxAddress.Parse("app@example.com")], [MailboxAddress.Parse(recipient)], "Hello", new TextPart("plain") { Text = "" }) });
        return new MimeMessage([MailboxAddress.Parse("MAILER-DAEMON@relay.test")], [MailboxAddress.Parse(to)], "Undelivered Mail Returned to Sender", report);
    }

    /// <summary>An ARF abuse report (RFC 5965): multipart/report; report-type=feedback-report.</summary>
    public static MimeMessage Complaint(string to)
    {
        var feedback = new MessageFeedbackReport();
        feedback.Fields.Add("Feedback-Type", "abuse");
        feedback.Fields.Add("User-Agent", "isp-fbl/1.0");
        feedback.Fields.Add("Version", "1");
        return new MimeMessage([MailboxAddress.Parse("fbl@isp.example")], [MailboxAddress.Parse(to)], "Abuse report",
            new MultipartReport("feedback-report") { new TextPart("plain") { Text = "A user marked this as spam." }, feedback });
    }
}
