using MailGateway.Core.Keys;
using Microsoft.AspNetCore.Http;

namespace MailGateway.Api;

/// <summary>
/// API-key authentication over HTTP: the key comes as <c>Authorization: Bearer …</c> or <c>X-Api-Key</c>; Core's
/// <see cref="ApiKeyVerifier"/> checks it (SHA-256, constant time) the same way for every entry point. The outcome is
/// kept with the request, so the rate limiter and the endpoint verify the key once between them.
/// </summary>
public sealed class ApiKeyAuthenticator(ApiKeyVerifier verifier)
{
    /// <summary>The caller's key, or null when the request carries no key or an unknown one.</summary>
    public VerifiedApiKey? Authenticate(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var features = request.HttpContext.Features;
        if (features.Get<Outcome>() is { } known)
        {
            return known.Key;
        }

        var key = verifier.Verify(PresentedKey(request));
        features.Set(new Outcome(key));
        return key;
    }

    private sealed record Outcome(VerifiedApiKey? Key);

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
}
