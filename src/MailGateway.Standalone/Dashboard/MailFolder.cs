using System.Globalization;
using System.Text.Json;
using MailGateway.Core.Inbound;
using MailGateway.Dashboard;
using MailGateway.Listener;
using Microsoft.Extensions.Options;

namespace MailGateway.Standalone.Dashboard;

/// <summary>
/// The messages the standalone host's SMTP listener stored as files (<c>{root}/inbound/yyyy/MM/dd/{id}.eml</c> and
/// <c>.json</c>): the capture's (<c>{data}/capture</c>) or the inbound receiver's. Read newest day first; one look
/// reads at most <see cref="MaxScan"/> metadata files, so a huge folder costs a bounded time.
/// </summary>
internal sealed class MailFolder(IOptionsMonitor<InboundListenerOptions> inbound, StandaloneFlags flags) : IDashboardMail
{
    public const int MaxScan = IDashboardMail.MaxScan;
    private const long MaxMetadataBytes = 1024 * 1024;

    /// <summary>True when this host has a listener that stores files (capture, or inbound on the file system).</summary>
    public bool Available => Root is not null;

    /// <summary>"Captured mail" or "Inbound mail".</summary>
    public string Title => flags.Listener == StandaloneListener.Capture ? "Captured mail" : "Inbound mail";

    /// <inheritdoc />
    public string UnavailableReason => "This host has no SMTP listener that stores mail as files.";

    /// <inheritdoc />
    public bool CapturesDeliveries => flags.Listener == StandaloneListener.Capture;

    private string? Root =>
        flags.Listener != StandaloneListener.None && inbound.CurrentValue.Store == InboundStoreKind.FileSystem && !string.IsNullOrEmpty(inbound.CurrentValue.FileSystem.Path)
            ? Path.Combine(Path.GetFullPath(inbound.CurrentValue.FileSystem.Path), "inbound")
            : null;

    /// <summary>
    /// The messages matching <paramref name="filter"/> (a word in the sender, a recipient, the Message-ID or the id;
    /// case-insensitive), newest first, <paramref name="limit"/> from <paramref name="offset"/>.
    /// </summary>
    public MailFilePage List(string? filter, int offset, int limit)
    {
        if (Root is not { } root || !Directory.Exists(root))
        {
            return new MailFilePage([], offset, false, 0, false);
        }

        var matches = new List<MailFile>();
        var scanned = 0;
        var limited = false;
        foreach (var day in Days(root))
        {
            var files = new List<MailFile>();
            foreach (var json in Directory.EnumerateFiles(day, "*.json"))
            {
                if (++scanned > MaxScan)
                {
                    limited = true;
                    break;
                }

                if (Read(json) is { } file && Matches(file.Metadata, filter))
                {
                    files.Add(file);
                }
            }

            matches.AddRange(files.OrderByDescending(f => f.Metadata.ReceivedAt).ThenByDescending(f => f.Metadata.Id, StringComparer.Ordinal));
            if (limited || matches.Count > offset + limit)
            {
                break;
            }
        }

        return new MailFilePage([.. matches.Skip(offset).Take(limit)], offset, matches.Count > offset + limit, Math.Min(scanned, MaxScan), limited);
    }

    /// <summary>The message with the listener's id <paramref name="id"/>, or null.</summary>
    public MailFile? Find(string id)
    {
        if (Root is not { } root || !IsId(id) || !Directory.Exists(root))
        {
            return null;
        }

        var scanned = 0;
        foreach (var day in Days(root))
        {
            var json = Path.Combine(day, id + ".json");
            if (File.Exists(json))
            {
                return Read(json);
            }

            if (++scanned > 3660)
            {
                break;
            }
        }

        return null;
    }

    /// <summary>
    /// The newest stored message whose Message-ID is <paramref name="messageId"/> (with or without angle brackets), or
    /// with <paramref name="gatewayId"/> the one the gateway composed for its message of that id (<c>&lt;id@domain&gt;</c>).
    /// </summary>
    public MailFile? FindByMessageId(string messageId, bool gatewayId = false)
    {
        var page = List(null, 0, MaxScan);
        var bare = messageId.Trim().Trim('<', '>');
        return page.Items.FirstOrDefault(f => f.Metadata.MessageId is { } m && (gatewayId
            ? m.Trim().Trim('<', '>').StartsWith(bare + "@", StringComparison.Ordinal)
            : string.Equals(m.Trim().Trim('<', '>'), bare, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>A listener id: letters, digits and hyphens, 1-64 (what <see cref="InboundStoragePaths.EnsureSafeId"/> allows).</summary>
    public static bool IsId(string? id) => id is { Length: > 0 and <= 64 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    private static bool Matches(InboundMessageMetadata metadata, string? filter) =>
        string.IsNullOrEmpty(filter)
        || metadata.MailFrom.Contains(filter, StringComparison.OrdinalIgnoreCase)
        || metadata.Recipients.Any(r => r.Contains(filter, StringComparison.OrdinalIgnoreCase))
        || (metadata.MessageId?.Contains(filter, StringComparison.OrdinalIgnoreCase) ?? false)
        || metadata.Id.Contains(filter, StringComparison.OrdinalIgnoreCase);

    // yyyy/MM/dd folders, newest first; anything else in the tree is not ours and is skipped.
    private static IEnumerable<string> Days(string root)
    {
        foreach (var year in Numbered(root, 4))
        {
            foreach (var month in Numbered(year, 2))
            {
                foreach (var day in Numbered(month, 2))
                {
                    yield return day;
                }
            }
        }
    }

    private static IEnumerable<string> Numbered(string folder, int digits) =>
        Directory.EnumerateDirectories(folder)
            .Where(d => Path.GetFileName(d) is { } name && name.Length == digits && name.All(char.IsAsciiDigit))
            .OrderByDescending(d => int.Parse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture));

    private static MailFile? Read(string jsonPath)
    {
        var eml = Path.ChangeExtension(jsonPath, ".eml");
        try
        {
            // The .eml is renamed into place last: without it the message is not complete yet.
            var info = new FileInfo(jsonPath);
            if (!File.Exists(eml) || info.Length > MaxMetadataBytes)
            {
                return null;
            }

            using var stream = File.OpenRead(jsonPath);
            var metadata = JsonSerializer.Deserialize(stream, DashboardJson.Default.InboundMessageMetadata);
            return metadata is null || !IsId(metadata.Id) ? null : new MailFile(metadata, eml);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(InboundMessageMetadata))]
internal sealed partial class DashboardJson : System.Text.Json.Serialization.JsonSerializerContext
{
}
