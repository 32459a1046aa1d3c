namespace MailGateway.Client;

/// <summary>
/// An attachment, or an inline part when it has a <see cref="ContentId"/> (referenced from the html as
/// <c>cid:&lt;contentId&gt;</c>). The content is read when the message is sent — a stream once, from its current
/// position to its end; a file from disk — and kept, so a retry or a second send of the same message sends the same
/// bytes. Attachments travel base64 inside the JSON request, so the whole request is held in memory; the gateway
/// refuses requests larger than its <c>MaxRequestBodyBytes</c> (16 MiB by default) with 413.
/// </summary>
public sealed class EmailAttachment
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".pdf"] = "application/pdf",
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".gif"] = "image/gif",
        [".webp"] = "image/webp",
        [".svg"] = "image/svg+xml",
        [".txt"] = "text/plain",
        [".csv"] = "text/csv",
        [".html"] = "text/html",
        [".htm"] = "text/html",
        [".ics"] = "text/calendar",
        [".json"] = "application/json",
        [".xml"] = "application/xml",
        [".zip"] = "application/zip",
        [".docx"] = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        [".xlsx"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };

    private readonly Func<CancellationToken, Task<ReadOnlyMemory<byte>>>? _load;
    private ReadOnlyMemory<byte>? _content;

    private EmailAttachment(string filename, string? contentType, string? contentId, ReadOnlyMemory<byte>? content, Func<CancellationToken, Task<ReadOnlyMemory<byte>>>? load)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filename);
        if (contentId is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(contentId);
        }

        Filename = filename;
        ContentType = string.IsNullOrWhiteSpace(contentType) ? GuessContentType(filename) : contentType;
        ContentId = contentId;
        _content = content;
        _load = load;
    }

    /// <summary>The file name shown to the recipient.</summary>
    public string Filename { get; }

    /// <summary>The media type, e.g. <c>application/pdf</c> (guessed from the file name's extension when not given; <c>application/octet-stream</c> otherwise).</summary>
    public string ContentType { get; }

    /// <summary>The content id of an inline part, or null for a regular attachment.</summary>
    public string? ContentId { get; }

    /// <summary>True for an inline part (it has a <see cref="ContentId"/>).</summary>
    public bool IsInline => ContentId is not null;

    /// <summary>An attachment from bytes in memory (not copied: do not change them before the message is sent).</summary>
    /// <param name="filename">The file name shown to the recipient.</param>
    /// <param name="content">The content.</param>
    /// <param name="contentType">The media type; guessed from <paramref name="filename"/> when null.</param>
    /// <param name="contentId">The content id of an inline part, or null.</param>
    public static EmailAttachment FromBytes(string filename, ReadOnlyMemory<byte> content, string? contentType = null, string? contentId = null) =>
        new(filename, contentType, contentId, content, null);

    /// <summary>
    /// An attachment read from a stream when the message is first sent (from its current position to its end). The
    /// stream is not disposed; keep it open until the send has completed.
    /// </summary>
    /// <param name="filename">The file name shown to the recipient.</param>
    /// <param name="content">The stream to read.</param>
    /// <param name="contentType">The media type; guessed from <paramref name="filename"/> when null.</param>
    /// <param name="contentId">The content id of an inline part, or null.</param>
    public static EmailAttachment FromStream(string filename, Stream content, string? contentType = null, string? contentId = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!content.CanRead)
        {
            throw new ArgumentException("The stream is not readable.", nameof(content));
        }

        return new(filename, contentType, contentId, null, async cancellationToken =>
        {
            using var buffer = content.CanSeek ? new MemoryStream(checked((int)Math.Max(0, content.Length - content.Position))) : new MemoryStream();
            await content.CopyToAsync(buffer, cancellationToken);
            return buffer.ToArray();
        });
    }

    /// <summary>An attachment read from a file when the message is first sent.</summary>
    /// <param name="path">The file to attach.</param>
    /// <param name="contentType">The media type; guessed from the extension when null.</param>
    /// <param name="contentId">The content id of an inline part, or null.</param>
    /// <param name="filename">The file name shown to the recipient; the file's own name when null.</param>
    public static EmailAttachment FromFile(string path, string? contentType = null, string? contentId = null, string? filename = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new(filename ?? Path.GetFileName(path), contentType, contentId, null,
            async cancellationToken => await File.ReadAllBytesAsync(path, cancellationToken));
    }

    /// <summary>Reads the content once (a stream or a file) and keeps it for every later send.</summary>
    internal async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (_content is null && _load is not null)
        {
            _content = await _load(cancellationToken);
        }
    }

    /// <summary>The content, after <see cref="LoadAsync"/>.</summary>
    internal ReadOnlyMemory<byte> Content => _content ?? throw new InvalidOperationException("The attachment's content has not been read yet.");

    private static string GuessContentType(string filename) =>
        ContentTypes.TryGetValue(Path.GetExtension(filename), out var type) ? type : "application/octet-stream";
}
