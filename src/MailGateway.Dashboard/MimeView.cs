using MimeKit;

namespace MailGateway.Dashboard;

/// <summary>One attachment as the message page lists it (the index is its place among the message's attachments).</summary>
public sealed record AttachmentInfo(int Index, string FileName, string ContentType, long? Size);

/// <summary>What the message page shows of a MIME message: headers, the text part, whether there is an HTML part, attachments.</summary>
public sealed record MimeSummary(
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    string? Subject,
    string? From,
    string? To,
    string? MessageId,
    string? Text,
    bool HasHtml,
    IReadOnlyList<AttachmentInfo> Attachments,
    long RawSize);

/// <summary>Reads stored messages with MimeKit for the dashboard; nothing here trusts the message (it is attacker-controlled).</summary>
internal static class MimeView
{
    /// <summary>The largest message the dashboard parses (larger ones: the raw source download only).</summary>
    public const long MaxParsedBytes = 64L * 1024 * 1024;

    /// <summary>The longest text part shown on the page.</summary>
    public const int MaxTextChars = 200_000;

    /// <summary>The Content-Security-Policy of a served HTML body: no scripts, nothing remote, inline styles and inline images only.</summary>
    public const string BodyPolicy = "default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox";

    public static async Task<MimeMessage> LoadAsync(Stream stream, CancellationToken cancellationToken) =>
        await MimeMessage.LoadAsync(stream, cancellationToken);

    public static MimeSummary Summarize(MimeMessage message, long rawSize)
    {
        var text = message.TextBody;
        if (text is { Length: > MaxTextChars })
        {
            text = text[..MaxTextChars] + "\n… (cut: the text part is longer than " + MaxTextChars + " characters; see the raw source)";
        }

        return new MimeSummary(
            [.. message.Headers.Select(h => new KeyValuePair<string, string>(h.Field, h.Value))],
            message.Subject,
            message.From.ToString(),
            message.To.ToString(),
            message.MessageId,
            text,
            message.HtmlBody is not null,
            [.. Attachments(message).Select((a, i) => new AttachmentInfo(i, FileNameOf(a, i), a.ContentType.MimeType, a is MimePart { Content.Stream: { CanSeek: true } s } ? s.Length : null))],
            rawSize);
    }

    public static IEnumerable<MimeEntity> Attachments(MimeMessage message) => message.Attachments;

    /// <summary>A file name safe for a Content-Disposition header: the attachment's own name stripped to harmless characters.</summary>
    public static string FileNameOf(MimeEntity entity, int index)
    {
        var name = entity switch
        {
            MimePart part => part.FileName,
            MessagePart => "message.eml",
            _ => null,
        };
        name = Path.GetFileName(name ?? "");
        var safe = new string([.. name.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ' ').Take(100)]).Trim(' ', '.');
        return safe.Length == 0 ? $"attachment-{index + 1}.bin" : safe;
    }

    /// <summary>Writes attachment <paramref name="index"/>'s decoded content; false when there is none.</summary>
    public static async Task<bool> WriteAttachmentAsync(MimeMessage message, int index, Stream destination, CancellationToken cancellationToken)
    {
        var entity = Attachments(message).Skip(index).FirstOrDefault();
        switch (entity)
        {
            case MimePart { Content: { } content }:
                await content.DecodeToAsync(destination, cancellationToken);
                return true;
            case MessagePart { Message: { } inner }:
                await inner.WriteToAsync(destination, cancellationToken);
                return true;
            default:
                return false;
        }
    }
}
