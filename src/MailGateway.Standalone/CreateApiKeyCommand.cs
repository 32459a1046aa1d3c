using System.Security.Cryptography;
using MailGateway.Core.Keys;

namespace MailGateway.Standalone;

/// <summary>
/// <c>create-api-key --id NAME [--domain D]… [--scope S]… [--index N]</c>: a new random key (256 bits), printed once,
/// and the configuration of its SHA-256 (environment variables, command-line arguments, appsettings.json). The key is
/// never stored; the gateway is configured with the hash only. Works for every host (the Functions app settings use
/// the same names).
/// </summary>
internal static class CreateApiKeyCommand
{
    public const string Name = "create-api-key";

    private const string Usage = "usage: create-api-key --id NAME [--domain example.com]... [--scope send|read|admin]... [--index N]";

    /// <summary>Runs the command; 0 on success, 2 for bad arguments (with the usage on <paramref name="error"/>).</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        string? id = null;
        var index = 0;
        var domains = new List<string>();
        var scopes = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var (name, value) = Split(args, ref i);
            switch (name)
            {
                case "--id" when value is { Length: > 0 }:
                    id = value;
                    break;
                case "--domain" when value is { Length: > 0 }:
                    domains.Add(value);
                    break;
                case "--scope" when value is { Length: > 0 }:
                    scopes.Add(value);
                    break;
                case "--index" when int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n):
                    index = n;
                    break;
                case "--help" or "-h":
                    output.WriteLine(Usage);
                    return 0;
                default:
                    error.WriteLine($"create-api-key: unexpected or incomplete argument '{args[i]}'.");
                    error.WriteLine(Usage);
                    return 2;
            }
        }

        if (id is null)
        {
            error.WriteLine("create-api-key: --id is required (the key's name; it owns the messages sent with it).");
            error.WriteLine(Usage);
            return 2;
        }

        if (id.Any(c => c is <= ' ' or > '~') || id.Length > 64)
        {
            error.WriteLine("create-api-key: --id is 1-64 printable ASCII characters without spaces.");
            return 2;
        }

        if (scopes.FirstOrDefault(s => !ApiKeyScopes.All.Contains(s, StringComparer.Ordinal)) is { } badScope)
        {
            error.WriteLine($"create-api-key: '{badScope}' is not a scope ({string.Join(", ", ApiKeyScopes.All)}).");
            return 2;
        }

        var key = NewKey();
        var hash = ApiKeyVerifier.HashKey(key);
        var settings = new List<(string Name, string Value)> { ($"Keys:{index}:Id", id), ($"Keys:{index}:Sha256", hash) };
        settings.AddRange(domains.Select((d, n) => ($"Keys:{index}:AllowedSenderDomains:{n}", d)));
        settings.AddRange(scopes.Select((s, n) => ($"Keys:{index}:Scopes:{n}", s)));

        output.WriteLine($"API key '{id}' (shown once, not stored anywhere: keep it in the client's secret store):");
        output.WriteLine();
        output.WriteLine("  " + key);
        output.WriteLine();
        output.WriteLine("Configure the gateway with its SHA-256 (the key itself is never configured).");
        output.WriteLine();
        output.WriteLine("Environment variables (Functions: app settings):");
        foreach (var (name, value) in settings)
        {
            output.WriteLine($"  {ApiKeysOptions.SectionName.Replace(":", "__", StringComparison.Ordinal)}__{name.Replace(":", "__", StringComparison.Ordinal)}={value}");
        }

        output.WriteLine();
        output.WriteLine("Command-line arguments:");
        output.WriteLine("  " + string.Join(' ', settings.Select(s => $"--{ApiKeysOptions.SectionName}:{s.Name}={s.Value}")));
        output.WriteLine();
        output.WriteLine($"appsettings.json (MailGateway:Api:Keys, entry {index}):");
        output.WriteLine($"  {{ \"Id\": \"{id}\", \"Sha256\": \"{hash}\", \"AllowedSenderDomains\": [{string.Join(", ", domains.Select(d => $"\"{d}\""))}]" +
            (scopes.Count > 0 ? $", \"Scopes\": [{string.Join(", ", scopes.Select(s => $"\"{s}\""))}]" : "") + " }");
        if (domains.Count == 0)
        {
            output.WriteLine();
            output.WriteLine("A key needs at least one sender domain: add Keys:N:AllowedSenderDomains:0 (or run again with --domain).");
        }

        return 0;
    }

    /// <summary><c>mgw_</c> and 32 random bytes, base64url (43 characters).</summary>
    internal static string NewKey() =>
        "mgw_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    // "--id NAME" or "--id=NAME".
    private static (string Name, string? Value) Split(IReadOnlyList<string> args, ref int i)
    {
        var arg = args[i];
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0)
        {
            return (arg[..equals], arg[(equals + 1)..]);
        }

        if (arg is "--help" or "-h")
        {
            return (arg, null);
        }

        if (i + 1 < args.Count)
        {
            i++;
            return (arg, args[i]);
        }

        return (arg, null);
    }
}
