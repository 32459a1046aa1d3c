using System.Globalization;
using System.Text.RegularExpressions;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>
/// The claim check on the local disk: one <c>.eml</c> file per message under <c>messages/yyyy/MM/dd/</c>, written to
/// a temp file, fsynced and renamed. References are built from the server-generated message id and the date only.
/// </summary>
public sealed partial class FileMessageContentStore : IMessageContentStore
{
    private readonly string _root;
    private readonly TimeProvider _time;

    /// <summary>Creates the store.</summary>
    public FileMessageContentStore(IOptions<EmbeddedStorageOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _root = options.Value.MessagesPath;
        _time = time;
    }

    /// <inheritdoc />
    public async Task<string> SaveAsync(string messageId, ReadOnlyMemory<byte> mime, CancellationToken cancellationToken)
    {
        if (!IdPattern().IsMatch(messageId))
        {
            throw new ArgumentException("A message id is 1-64 letters, digits or dashes.", nameof(messageId));
        }

        var now = _time.GetUtcNow();
        var reference = string.Create(CultureInfo.InvariantCulture, $"{now:yyyy}/{now:MM}/{now:dd}/{messageId}.eml");
        await DurableFile.WriteAsync(FullPath(reference), mime, cancellationToken);
        return reference;
    }

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string reference, CancellationToken cancellationToken)
    {
        var path = FullPath(reference);
        try
        {
            Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult(stream);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MessageContentNotFoundException($"Message content {reference} not found.", ex);
        }
    }

    /// <inheritdoc />
    public Task DeleteAsync(string reference, CancellationToken cancellationToken)
    {
        File.Delete(FullPath(reference));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            DurableFile.EnsureDirectory(_root);
            return Task.FromResult(Directory.Exists(_root));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult(false);
        }
    }

    private string FullPath(string reference)
    {
        if (!ReferencePattern().IsMatch(reference))
        {
            throw new MessageContentNotFoundException($"Not a reference of this store: {reference}");
        }

        return Path.Combine(_root, reference.Replace('/', Path.DirectorySeparatorChar));
    }

    [GeneratedRegex("^[A-Za-z0-9-]{1,64}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^\d{4}/\d{2}/\d{2}/[A-Za-z0-9-]{1,64}\.eml$")]
    private static partial Regex ReferencePattern();
}
