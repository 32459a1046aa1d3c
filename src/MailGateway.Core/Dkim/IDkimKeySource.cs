using Microsoft.Extensions.Options;

namespace MailGateway.Core.Dkim;

/// <summary>
/// The DKIM keys in force (the port <see cref="DkimMessageSigner"/> signs with): <see cref="PemFileDkimKeySource"/>
/// reads PEM files once; the Azure hosts' Key Vault source re-reads its secrets periodically and swaps the ring. A
/// source never hands out a ring with a key that did not load: a key that fails later keeps its last good version.
/// </summary>
public interface IDkimKeySource
{
    /// <summary>The ring now (the same instance until the source replaces it whole).</summary>
    /// <exception cref="InvalidOperationException">The keys are not loaded yet (the host has not started).</exception>
    DkimKeyRing Current { get; }
}

/// <summary>The keys of <see cref="DkimOptions"/> from PEM files, loaded once (start-up validation checked them first).</summary>
public sealed class PemFileDkimKeySource(IOptions<DkimOptions> options) : IDkimKeySource
{
    /// <inheritdoc />
    public DkimKeyRing Current { get; } = DkimKeyRing.Load((options ?? throw new ArgumentNullException(nameof(options))).Value);
}
