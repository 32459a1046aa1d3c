using MimeKit;

namespace MailGateway.Core.Bounces;

/// <summary>What a report to the bounce domain says.</summary>
public enum BounceReportKind
{
    /// <summary>Not a report this gateway reads (no <c>multipart/report</c>, or an unreadable one).</summary>
    None,

    /// <summary>A delivery status notification (RFC 3464) with at least one <c>Action: failed</c> recipient.</summary>
    Failed,

    /// <summary>A DSN that reports no permanent failure (delayed, delivered, relayed, expanded).</summary>
    NotFailed,

    /// <summary>An abuse report (ARF, RFC 5965: <c>report-type=feedback-report</c>).</summary>
    Complaint,
}

/// <summary>One report read from a message to the bounce domain.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Status">The RFC 3463 status of the failed recipient (<c>5.1.1</c>), or the feedback type of a complaint.</param>
/// <param name="Diagnostic">The remote MTA's reply (<c>Diagnostic-Code</c> without its type), when given.</param>
/// <param name="FinalRecipient">The <c>Final-Recipient</c> address (informational: the token names the recipient).</param>
public sealed record BounceReport(BounceReportKind Kind, string? Status = null, string? Diagnostic = null, string? FinalRecipient = null)
{
    private static readonly BounceReport NoReport = new(BounceReportKind.None);

    /// <summary>
    /// Reads <paramref name="message"/> (at most <see cref="BounceOptions.MaxReportBytes"/>, so parsing stays bounded) as a
    /// DSN or an ARF report. Never throws for bad input: anything unreadable is <see cref="BounceReportKind.None"/>.
    /// </summary>
    public static BounceReport Read(Stream message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            return ReadParsed(MimeMessage.Load(message, cancellationToken));
        }
        catch (FormatException)
        {
            // MimeKit parses the report parts' fields lazily (MessageFeedbackReport.Fields, StatusGroups): a bad one
            // throws there, not in Load.
            return NoReport;
        }
    }

    private static BounceReport ReadParsed(MimeMessage parsed)
    {
        var report = parsed.Body as MultipartReport
            ?? parsed.BodyParts.OfType<MultipartReport>().FirstOrDefault()
            ?? (parsed.Body as Multipart)?.OfType<MultipartReport>().FirstOrDefault();
        if (report is null)
        {
            return NoReport;
        }

        if (report.OfType<MessageDeliveryStatus>().FirstOrDefault() is { } status)
        {
            return FromDeliveryStatus(status);
        }

        if (report.OfType<MessageFeedbackReport>().FirstOrDefault() is { } feedback)
        {
            return new BounceReport(BounceReportKind.Complaint, Status: Clean(feedback.Fields["Feedback-Type"]) ?? "abuse");
        }

        return NoReport;
    }

    private static BounceReport FromDeliveryStatus(MessageDeliveryStatus status)
    {
        // The first group is per message; each of the others is about one recipient (RFC 3464 §2.1).
        var recipients = status.StatusGroups.Skip(1).ToList();
        if (recipients.Count == 0)
        {
            return NoReport;
        }

        foreach (var group in recipients)
        {
            var action = Clean(group["Action"]);
            var code = Clean(group["Status"]);
            if (string.Equals(action, "failed", StringComparison.OrdinalIgnoreCase) && code is { Length: > 0 } && code[0] == '5')
            {
                return new BounceReport(BounceReportKind.Failed, code, AfterType(group["Diagnostic-Code"]), Address(group["Final-Recipient"]));
            }
        }

        return new BounceReport(BounceReportKind.NotFailed, Clean(recipients[0]["Status"]));
    }

    /// <summary><c>smtp; 550 5.1.1 unknown</c> → <c>550 5.1.1 unknown</c>.</summary>
    private static string? AfterType(string? value)
    {
        var text = Clean(value);
        if (text is null)
        {
            return null;
        }

        var semicolon = text.IndexOf(';', StringComparison.Ordinal);
        return semicolon >= 0 ? text[(semicolon + 1)..].Trim() : text;
    }

    /// <summary><c>rfc822; bob@example.net</c> → <c>bob@example.net</c>.</summary>
    private static string? Address(string? value) => AfterType(value);

    private static string? Clean(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        // Unfolded, single-line, bounded: the value ends up in a status record and an event.
        var text = string.Join(' ', value.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return text.Length > 512 ? text[..512] : text;
    }
}
