using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace MailGateway.Api;

/// <summary>An authenticated caller: the key's id and the sender domains it may use.</summary>
public sealed record ApiCaller(string Id, IReadOnlyList<string> AllowedSenderDomains)
{
    /// <summary>True when <paramref name="address"/>'s domain is one of the allowed ones (or a subdomain of a <c>*.</c> entry).</summary>
    public bool MaySendFrom(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var at = address.LastIndexOf('@');
        if (at < 0)
        {
            return false;
        }

        var domain = address[(at + 1)..].TrimEnd('.');
        foreach (var allowed in AllowedSenderDomains)
        {
            if (allowed.StartsWith("*.", StringComparison.Ordinal))
            {
                var parent = allowed[2..];
                if (domain.Equals(parent, StringComparison.OrdinalIgnoreCase)
                    || domain.EndsWith("." + parent, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
            else if (domain.Equals(allowed, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// API-key authentication: the key comes as <c>Authorization: Bearer …</c> or <c>X-Api-Key</c>; its SHA-256 is
/// compared with every configured hash in constant time (no early exit, no timing hint of a near match).
/// </summary>
public sealed class ApiKeyAuthenticator
{
    private readonly IOptionsMonitor<ApiOptions> _options;

    /// <summary>Creates the authenticator.</summary>
    public ApiKeyAuthenticator(IOptionsMonitor<ApiOptions> options) => _options = options;

    /// <summary>The caller, or null when the request carries no key or an unknown one.</summary>
    public ApiCaller? Authenticate(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var presented = PresentedKey(request);
        if (string.IsNullOrEmpty(presented))
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        Span<byte> expected = stackalloc byte[32];
        ApiCaller? match = null;
        foreach (var key in _options.CurrentValue.Keys)
        {
            if (!TryParseHex(key.Sha256, expected))
            {
                continue;
            }

            if (CryptographicOperations.FixedTimeEquals(hash, expected) && match is null)
            {
                match = new ApiCaller(key.Id, key.AllowedSenderDomains);
            }
        }

        return match;
    }

    /// <summary>The SHA-256 of a key as configured (64 lower-case hex digits).</summary>
    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static string? PresentedKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        var header = request.Headers["X-Api-Key"].ToString();
        return string.IsNullOrWhiteSpace(header) ? null : header.Trim();
    }

    private static bool TryParseHex(string hex, Span<byte> destination) =>
        hex is { Length: 64 } && Convert.FromHexString(hex, destination, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32;
}
