namespace MailGateway.Core.Inbound;

/// <summary>
/// Durable storage for received messages (the inbound listener's port). The listener streams a message into a writer
/// while it arrives and commits it after the end of DATA; only a completed commit lets the client see 250.
/// Implementations: the filesystem store (<c>MailGateway.Listener</c>) and the Blob store (<c>MailGateway.AzureAdapters</c>);
/// both run the contract suite in <c>MailGateway.Testing</c>.
/// </summary>
public interface IInboundMessageStore
{
    /// <summary>Opens a writer for a new message (a temp file, a block list…); nothing is visible before commit.</summary>
    ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken);

    /// <summary>Prepares the store (creates the folder or container); called once at start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Readiness probe: true when the store can take messages now (the folder or container exists and answers).
    /// Never throws for an unavailable store; the caller bounds it with a probe timeout.
    /// </summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}

/// <summary>One message on its way into the store. Disposing it without a commit discards it.</summary>
public interface IInboundMessageWriter : IDisposable
{
    /// <summary>Appends raw bytes (the Received header first, then the message as received).</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Makes the message and its metadata durable; returns where it is (a path or blob name).</summary>
    Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken);
}

/// <summary>What is stored next to each message (<c>{id}.json</c>; also Blob metadata on the .eml).</summary>
public sealed record InboundMessageMetadata
{
    /// <summary>The server-generated id (also the file name).</summary>
    public required string Id { get; init; }

    /// <summary>When the end of DATA arrived (UTC).</summary>
    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>The envelope sender (MAIL FROM); empty for the null reverse-path.</summary>
    public required string MailFrom { get; init; }

    /// <summary>The envelope recipients (RCPT TO).</summary>
    public required IReadOnlyList<string> Recipients { get; init; }

    /// <summary>The client's IP address.</summary>
    public required string ClientIp { get; init; }

    /// <summary>The name the client gave in HELO/EHLO.</summary>
    public required string ClientHelo { get; init; }

    /// <summary>True when the message arrived over TLS.</summary>
    public required bool Tls { get; init; }

    /// <summary>The TLS protocol, e.g. Tls13, when <see cref="Tls"/>.</summary>
    public string? TlsProtocol { get; init; }

    /// <summary>The authenticated user, if the client used AUTH.</summary>
    public string? AuthenticatedUser { get; init; }

    /// <summary>Size of the stored .eml in bytes (Received header included).</summary>
    public required long Size { get; init; }

    /// <summary>SHA-256 of the stored .eml, lower-case hex.</summary>
    public required string Sha256 { get; init; }

    /// <summary>The Message-ID header of the message, if it has one.</summary>
    public string? MessageId { get; init; }
}
