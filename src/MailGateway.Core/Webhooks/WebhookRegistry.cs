using System.Security.Cryptography;

namespace MailGateway.Core.Webhooks;

/// <summary>A webhook endpoint created through the API (<c>POST /api/v1/webhooks</c>): it receives its key's events only.</summary>
/// <param name="Id">The id, <c>wh_</c> and 24 hex digits (also the key of its delivery state).</param>
/// <param name="Owner">The API key that created it: the only key whose messages' events it receives.</param>
/// <param name="Url">The receiver.</param>
/// <param name="EventTypes">The types sent (empty: all).</param>
/// <param name="Enabled">False while disabled through the API (nothing is sent; the cursor stays).</param>
/// <param name="Secret">The signing secret (<c>whsec_…</c>).</param>
/// <param name="PreviousSecret">The secret before the last rotation, still signing until <paramref name="PreviousSecretExpiresAt"/>.</param>
/// <param name="PreviousSecretExpiresAt">The end of the rotation's grace period.</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record WebhookDefinition(
    string Id, string Owner, string Url, IReadOnlyList<string> EventTypes, bool Enabled, string Secret,
    string? PreviousSecret, DateTimeOffset? PreviousSecretExpiresAt, DateTimeOffset CreatedAt)
{
    /// <summary>The prefix of an API-created endpoint's id (configured endpoint names may not start with it).</summary>
    public const string IdPrefix = "wh_";

    /// <summary>A new id.</summary>
    public static string NewId() => IdPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>The secrets a delivery at <paramref name="now"/> is signed with: the current one, and the previous one during its grace period.</summary>
    public IReadOnlyList<string> SigningSecrets(DateTimeOffset now) =>
        PreviousSecret is { } previous && PreviousSecretExpiresAt is { } until && until > now ? [Secret, previous] : [Secret];
}

/// <summary>How a create ended.</summary>
public enum WebhookCreateOutcome
{
    /// <summary>Stored, with its delivery state starting after the newest event.</summary>
    Created,

    /// <summary>The key has <see cref="WebhookOptions.MaxEndpointsPerKey"/> endpoints already; nothing was stored.</summary>
    TooMany,
}

/// <summary>The webhook endpoints created through the API (SQLite in the standalone host).</summary>
public interface IWebhookRegistry
{
    /// <summary>Every endpoint of <paramref name="owner"/>, or every endpoint when it is null; oldest first.</summary>
    Task<IReadOnlyList<WebhookDefinition>> ListAsync(string? owner, CancellationToken cancellationToken);

    /// <summary>The endpoint <paramref name="id"/>, or null.</summary>
    Task<WebhookDefinition?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="definition"/> unless its owner has <paramref name="maxPerOwner"/> endpoints already
    /// (checked in the same transaction), with its delivery state (cursor: the newest event, so it receives what
    /// happens from now on).
    /// </summary>
    Task<WebhookCreateOutcome> CreateAsync(WebhookDefinition definition, int maxPerOwner, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the endpoint with <paramref name="change"/> of its current value in one transaction; with
    /// <paramref name="resetDeliveryState"/> its failures and a disabled state are cleared (the cursor stays). Null when
    /// there is no such endpoint.
    /// </summary>
    Task<WebhookDefinition?> UpdateAsync(string id, Func<WebhookDefinition, WebhookDefinition> change, bool resetDeliveryState, CancellationToken cancellationToken);

    /// <summary>Removes the endpoint and its delivery state; false when there was none.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);
}
