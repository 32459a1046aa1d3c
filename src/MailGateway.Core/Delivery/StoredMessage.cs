using System.Runtime.InteropServices;
using MimeKit;

namespace MailGateway.Core.Delivery;

/// <summary>
/// The stored wire form of a message, handed to MailKit as a <see cref="MimeMessage"/> that is never parsed: writing
/// it writes the stored bytes unchanged (MailKit still dot-stuffs them and appends the final dot). Parsing the stored
/// MIME again in the worker cost time super-linear in a header's length and re-encoded what the API had checked.
/// </summary>
/// <remarks>
/// <see cref="MimeMessage"/> writes its headers, a blank line, then <c>Body.WriteTo(contentOnly: true)</c>, and none of
/// that can be overridden. So the header block (up to the blank line) travels as one <see cref="Header"/> marked
/// invalid (MimeKit writes an invalid header's raw bytes and nothing else), MimeKit writes the blank line, and the
/// body (after the blank line) is a <see cref="Multipart"/> whose content is the stored body bytes. MailKit looks at the
/// tree only to choose <c>BODY=8BITMIME</c>: an 8-bit body gets a child part marked 8bit for that, never written.
/// The engine's tests check that what the relay receives is byte-identical to what was stored.
/// </remarks>
internal sealed class StoredMessage : MimeMessage
{
    private StoredMessage(Header[] headers, StoredBody body, long length) : base((IEnumerable<Header>)headers)
    {
        Body = body;
        Length = length;
    }

    /// <summary>The number of bytes this message writes (what the relay's SIZE is compared with).</summary>
    public long Length { get; }

    /// <summary>Wraps <paramref name="content"/>; <paramref name="eightBitBody"/> makes MailKit announce BODY=8BITMIME.</summary>
    public static StoredMessage Create(ReadOnlyMemory<byte> content, bool eightBitBody)
    {
        var span = content.Span;
        var separator = span.IndexOf("\r\n\r\n"u8);
        ReadOnlyMemory<byte> headerBlock;
        ReadOnlyMemory<byte> body;
        long length;
        if (span.StartsWith("\r\n"u8))
        {
            // No headers at all: MimeKit's blank line is the stored one.
            (headerBlock, body, length) = (ReadOnlyMemory<byte>.Empty, content[2..], content.Length);
        }
        else if (separator >= 0)
        {
            (headerBlock, body, length) = (content[..(separator + 2)], content[(separator + 4)..], content.Length);
        }
        else
        {
            // Only headers (never composed by the gateway): MimeKit adds the blank line after them.
            (headerBlock, body, length) = (content, ReadOnlyMemory<byte>.Empty, content.Length + 2);
        }

        Header[] headers = headerBlock.IsEmpty ? [] : [new RawHeaderBlock(headerBlock.ToArray())];
        return new StoredMessage(headers, new StoredBody(body, eightBitBody), length);
    }

    /// <summary>The stored header block as one header that MimeKit writes byte for byte.</summary>
    private sealed class RawHeaderBlock(byte[] block) : Header(ParserOptions.Default, block, [], invalid: true);

    /// <summary>The stored body: written as it is, never prepared or re-encoded.</summary>
    private sealed class StoredBody : Multipart
    {
        private const int ChunkSize = 64 * 1024;
        private readonly ReadOnlyMemory<byte> _content;

        public StoredBody(ReadOnlyMemory<byte> content, bool eightBit)
        {
            _content = content;

            // The body's own headers are part of the stored header block already.
            Headers.Clear();
            if (eightBit)
            {
                Add(new MimePart { ContentTransferEncoding = ContentEncoding.EightBit });
            }
        }

        public override void Prepare(EncodingConstraint constraint, int maxLineLength = 78)
        {
            // Already in its wire form.
        }

        public override void WriteTo(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(stream);
            var (array, offset, count) = Segment();
            for (var written = 0; written < count; written += ChunkSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                stream.Write(array, offset + written, Math.Min(ChunkSize, count - written));
            }
        }

        public override async Task WriteToAsync(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(stream);
            var (array, offset, count) = Segment();

            // In chunks: each write goes through MailKit's dot-stuffing filter (which buffers what it writes) and
            // reports progress, which re-arms the phase timer.
            for (var written = 0; written < count; written += ChunkSize)
            {
                await stream.WriteAsync(array.AsMemory(offset + written, Math.Min(ChunkSize, count - written)), cancellationToken);
            }
        }

        private (byte[] Array, int Offset, int Count) Segment() =>
            MemoryMarshal.TryGetArray(_content, out var segment)
                ? (segment.Array!, segment.Offset, segment.Count)
                : (_content.ToArray(), 0, _content.Length);
    }
}
