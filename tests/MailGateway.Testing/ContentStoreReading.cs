using MailGateway.Core.Storage;

namespace MailGateway.Testing;

/// <summary>Reading stored content back in the tests.</summary>
public static class ContentStoreReading
{
    /// <summary>Every byte stored under <paramref name="reference"/>.</summary>
    public static async Task<byte[]> ReadAllAsync(this IMessageContentStore store, string reference)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var stream = await store.OpenReadAsync(reference, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
