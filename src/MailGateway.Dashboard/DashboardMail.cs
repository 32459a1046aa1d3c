using MailGateway.Core.Inbound;

namespace MailGateway.Dashboard;

/// <summary>One stored message of an SMTP listener: its metadata and where its .eml is.</summary>
public sealed record MailFile(InboundMessageMetadata Metadata, string EmlPath);

/// <summary>A page of the listener's messages, newest first, and whether more follow.</summary>
public sealed record MailFilePage(IReadOnlyList<MailFile> Items, int Offset, bool More, int Scanned, bool ScanLimited);

/// <summary>
/// The mail an SMTP listener of this host stored (the capture's or the inbound receiver's), for the dashboard's
/// "Captured mail" / "Inbound mail" pages. A host without such mail registers <see cref="NoDashboardMail"/>.
/// </summary>
public interface IDashboardMail
{
    /// <summary>The most metadata files one look reads (and the largest offset a page may ask for).</summary>
    const int MaxScan = 5_000;

    /// <summary>True when this host has stored mail to show.</summary>
    bool Available { get; }

    /// <summary>"Captured mail" or "Inbound mail".</summary>
    string Title { get; }

    /// <summary>Why there is none (shown on the page when <see cref="Available"/> is false).</summary>
    string UnavailableReason { get; }

    /// <summary>True when the listener captures the gateway's own deliveries (a delivered message's page links to its copy).</summary>
    bool CapturesDeliveries { get; }

    /// <summary>The messages matching <paramref name="filter"/>, newest first, <paramref name="limit"/> from <paramref name="offset"/>.</summary>
    MailFilePage List(string? filter, int offset, int limit);

    /// <summary>The message with the listener's id <paramref name="id"/>, or null.</summary>
    MailFile? Find(string id);

    /// <summary>The newest message whose Message-ID is <paramref name="messageId"/> (or, with <paramref name="gatewayId"/>, the gateway's message of that id), or null.</summary>
    MailFile? FindByMessageId(string messageId, bool gatewayId = false);
}

/// <summary>A host whose listener stores no mail the dashboard can read (the page says <see cref="UnavailableReason"/>).</summary>
public sealed class NoDashboardMail(string title, string reason) : IDashboardMail
{
    /// <inheritdoc />
    public bool Available => false;

    /// <inheritdoc />
    public string Title => title;

    /// <inheritdoc />
    public string UnavailableReason => reason;

    /// <inheritdoc />
    public bool CapturesDeliveries => false;

    /// <inheritdoc />
    public MailFilePage List(string? filter, int offset, int limit) => new([], offset, false, 0, false);

    /// <inheritdoc />
    public MailFile? Find(string id) => null;

    /// <inheritdoc />
    public MailFile? FindByMessageId(string messageId, bool gatewayId = false) => null;
}

/// <summary>What the dashboard must know of its host.</summary>
/// <param name="DevelopmentKeyOnly">
/// True when no API key is configured (the host's generated development key is in use): only then may
/// <see cref="DashboardSignIn.Auto"/> let a loopback request in without a key.
/// </param>
public sealed record DashboardHostInfo(bool DevelopmentKeyOnly);
