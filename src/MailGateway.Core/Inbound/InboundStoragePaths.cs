using System.Globalization;

namespace MailGateway.Core.Inbound;

/// <summary>Where an inbound message lives in every store: <c>inbound/yyyy/MM/dd/{id}</c>, from server-generated values only.</summary>
public static class InboundStoragePaths
{
    /// <summary>The folder (blob prefix) of a message received at <paramref name="receivedAt"/>: <c>inbound/yyyy/MM/dd</c> (UTC).</summary>
    public static string Folder(DateTimeOffset receivedAt) =>
        string.Create(CultureInfo.InvariantCulture, $"inbound/{receivedAt.UtcDateTime:yyyy}/{receivedAt.UtcDateTime:MM}/{receivedAt.UtcDateTime:dd}");

    /// <summary>Refuses an id that is not 1-64 letters, digits and hyphens (it becomes a file or blob name).</summary>
    public static void EnsureSafeId(string id)
    {
        if (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException("A message id is letters, digits and hyphens only.", nameof(id));
        }
    }
}
