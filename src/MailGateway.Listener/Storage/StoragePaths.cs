using System.Globalization;

namespace MailGateway.Listener.Storage;

/// <summary>Where a message lives: <c>inbound/yyyy/MM/dd/{id}</c>, from server-generated values only.</summary>
internal static class StoragePaths
{
    public static string Folder(DateTimeOffset receivedAt) =>
        string.Create(CultureInfo.InvariantCulture, $"inbound/{receivedAt.UtcDateTime:yyyy}/{receivedAt.UtcDateTime:MM}/{receivedAt.UtcDateTime:dd}");

    public static void EnsureSafeId(string id)
    {
        if (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException("A message id is letters, digits and hyphens only.", nameof(id));
        }
    }
}
