using System.Security.Cryptography;
using System.Text;

namespace MailGateway.Standalone;

/// <summary>
/// The development API key: generated once when no key is configured, kept in <c>dev-api-key.txt</c> in the data
/// folder (readable by the owner only) and printed at every start.
/// </summary>
internal sealed class DevApiKey
{
    public const string KeyId = "dev";

    private DevApiKey(string key, string path)
    {
        Key = key;
        Path = path;
    }

    public string Key { get; }

    public string Path { get; }

    public static DevApiKey LoadOrCreate(string dataDirectory)
    {
        var path = System.IO.Path.Combine(dataDirectory, "dev-api-key.txt");
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path, Encoding.UTF8).Trim();
            if (existing.Length >= 32)
            {
                return new DevApiKey(existing, path);
            }
        }

        MailGateway.Core.Storage.PrivateFiles.CreateDirectory(dataDirectory);
        var key = "mgw_dev_" + Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            stream.Write(Encoding.UTF8.GetBytes(key + "\n"));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        return new DevApiKey(key, path);
    }

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
