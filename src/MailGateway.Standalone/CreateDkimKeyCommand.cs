using System.Globalization;
using MailGateway.Core.Dkim;

namespace MailGateway.Standalone;

/// <summary>
/// <c>create-dkim-key --domain D --selector S --out FILE [--algorithm rsa|ed25519] [--bits 2048]</c>: writes a new
/// private key (mode 600, never over an existing file) and prints the DNS TXT record and the settings that use it.
/// </summary>
internal static class CreateDkimKeyCommand
{
    public const string Name = "create-dkim-key";

    /// <summary>Exit code of a bad argument or a file that cannot be written.</summary>
    public const int UsageExitCode = 1;

    private const string Usage =
        "usage: create-dkim-key --domain example.com --selector s1 --out ./dkim/example.com.s1.pem [--algorithm rsa|ed25519] [--bits 1024|2048|3072|4096]";

    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h")
            {
                output.WriteLine(Usage);
                return 0;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var (name, value) = equals > 0 ? (arg[..equals], arg[(equals + 1)..]) : (arg, i + 1 < args.Count ? args[++i] : null);
            if (name is not ("--domain" or "--selector" or "--out" or "--algorithm" or "--bits") || value is null)
            {
                return Fail(error, value is null ? $"{name} needs a value." : $"unknown option {name}.");
            }

            options[name] = value;
        }

        if (!options.TryGetValue("--domain", out var domain) || !options.TryGetValue("--selector", out var selector) || !options.TryGetValue("--out", out var path))
        {
            return Fail(error, "--domain, --selector and --out are required.");
        }

        var algorithm = options.GetValueOrDefault("--algorithm", "rsa");
        var bitsText = options.GetValueOrDefault("--bits", "2048");
        if (!int.TryParse(bitsText, NumberStyles.None, CultureInfo.InvariantCulture, out var bits) || !DkimKeyGenerator.RsaSizes.Contains(bits))
        {
            return Fail(error, $"--bits must be one of {string.Join(", ", DkimKeyGenerator.RsaSizes)}.");
        }

        DkimKeyPair pair;
        try
        {
            pair = algorithm switch
            {
                "rsa" => DkimKeyGenerator.CreateRsa(domain, selector, bits),
                "ed25519" => DkimKeyGenerator.CreateEd25519(domain, selector),
                _ => throw new ArgumentException("--algorithm must be rsa or ed25519."),
            };
        }
        catch (ArgumentException ex)
        {
            return Fail(error, ex.Message);
        }

        var full = Path.GetFullPath(path);
        try
        {
            var directory = Path.GetDirectoryName(full)!;
            if (!Directory.Exists(directory))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(directory);
                }
                else
                {
                    Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }

            var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var stream = new FileStream(full, file);
            using var writer = new StreamWriter(stream);
            writer.Write(pair.PrivateKeyPem);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail(error, File.Exists(full) ? $"{full} exists; a key is never overwritten." : $"cannot write {full}: {ex.Message}");
        }

        output.WriteLine($"Wrote the private key to {full} (mode 600). Keep it secret; back it up.");
        output.WriteLine();
        output.WriteLine("Publish this DNS TXT record:");
        output.WriteLine($"  name:  {pair.RecordName}");
        output.WriteLine($"  value: {pair.RecordValue}");
        output.WriteLine();
        output.WriteLine("As a zone-file line:");
        output.WriteLine(pair.ZoneFileLine);
        output.WriteLine();
        output.WriteLine("Then configure it (appsettings.json, or environment variables with __ for :):");
        output.WriteLine($"  MailGateway:Dkim:Keys:0:Domain={DkimKeyRing.AsciiDomain(domain)}");
        output.WriteLine($"  MailGateway:Dkim:Keys:0:Selector={selector.ToLowerInvariant()}");
        output.WriteLine($"  MailGateway:Dkim:Keys:0:PrivateKeyPath={full}");
        return 0;
    }

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine($"{Name}: {message}");
        error.WriteLine(Usage);
        return UsageExitCode;
    }
}
