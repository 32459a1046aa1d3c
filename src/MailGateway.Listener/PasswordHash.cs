using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MailGateway.Listener;

/// <summary>
/// PBKDF2-SHA256 password hashes for <see cref="InboundUserOptions.PasswordHash"/>: configuration holds
/// <c>PBKDF2-SHA256$iterations$salt(base64)$hash(base64)</c>, never a password.
/// </summary>
public static class PasswordHash
{
    /// <summary>The scheme prefix.</summary>
    public const string Prefix = "PBKDF2-SHA256";

    /// <summary>Iterations used by <see cref="Create(string)"/>.</summary>
    public const int DefaultIterations = 210_000;

    private const int SaltSize = 16;
    private const int HashSize = 32;

    /// <summary>Hashes a password with a random salt.</summary>
    public static string Create(string password) => Create(password, DefaultIterations);

    /// <summary>Hashes a password with a random salt and the given iteration count.</summary>
    public static string Create(string password, int iterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1000);
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashSize);
        return string.Join('$', Prefix, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    /// <summary>True when the text has the expected shape.</summary>
    public static bool IsWellFormed(string? encoded) => TryParse(encoded, out _, out _, out _);

    /// <summary>Checks a password against a hash in constant time; false for a malformed hash.</summary>
    public static bool Verify(string password, string? encoded)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (!TryParse(encoded, out var iterations, out var salt, out var expected))
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static bool TryParse(string? encoded, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        var parts = encoded?.Split('$');
        if (parts is not [Prefix, var iter, var s, var h]
            || !int.TryParse(iter, NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1000)
        {
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(s);
            hash = Convert.FromBase64String(h);
        }
        catch (FormatException)
        {
            return false;
        }

        return salt.Length >= 8 && hash.Length >= 16;
    }
}
