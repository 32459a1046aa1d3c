using Azure;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using MailGateway.Core.Dkim;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Dkim;

/// <summary>
/// The DKIM keys of <see cref="DkimOptions"/> with the Key Vault ones read as secrets (the PEM that
/// <c>create-dkim-key</c> writes) by the host's managed identity, PEM files as on the standalone host. Read when the
/// host starts (<see cref="IHostedLifecycleService.StartingAsync"/>, before any server accepts): a key that cannot be
/// read stops the host with one line naming its setting, like every other setting. Re-read every
/// <see cref="DkimOptions.RefreshInterval"/>: a new secret version (with a new <c>selector</c> tag, a new selector)
/// signs from then on, without a restart; a key that fails later keeps its last good version, is logged as a warning and
/// turns the <c>dkimKeys</c> health check Degraded. The signer never sees a half-read ring: each refresh builds a whole
/// new <see cref="DkimKeyRing"/> and swaps it in.
/// </summary>
public sealed partial class KeyVaultDkimKeySource(
    IOptions<DkimOptions> options,
    IAzureClientFactory<SecretClient> clients,
    TimeProvider time,
    ILogger<KeyVaultDkimKeySource> logger) : IDkimKeySource, IHostedLifecycleService, IDisposable
{
    /// <summary>The secret tag that names the selector of a version, when the settings name none.</summary>
    public const string SelectorTag = "selector";

    // A read that hangs (the SDK retries for minutes at worst) must not hold the start or a refresh forever.
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stopping = new();
    private volatile Snapshot? _snapshot;
    private Task? _refreshing;

    /// <inheritdoc />
    public DkimKeyRing Current => _snapshot?.Ring
        ?? throw new InvalidOperationException("The DKIM keys are not loaded yet: KeyVaultDkimKeySource reads them when the host starts.");

    /// <summary>The problems of the last refresh, each naming its setting (empty: every key was read).</summary>
    public IReadOnlyList<string> Failures => _snapshot?.Failures ?? [];

    /// <summary>When the keys were last read completely (null: not yet).</summary>
    public DateTimeOffset? LastSuccess => _snapshot?.LastSuccess;

    /// <summary>The name of the client of a vault (<see cref="AzureAdaptersHostingExtensions.AddKeyVaultDkimKeys"/> registers one per vault).</summary>
    public static string ClientName(Uri vault)
    {
        ArgumentNullException.ThrowIfNull(vault);
        return "dkim:" + vault.GetLeftPart(UriPartial.Authority).ToLowerInvariant();
    }

    /// <summary>
    /// Reads every key; on any problem throws an <see cref="OptionsValidationException"/> for <see cref="DkimOptions"/>
    /// whose failures name the settings (the host reports it as one line and exits 2).
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var reads = await ReadSecretsAsync(cancellationToken);
        var errors = DkimKeyRing.TryLoad(options.Value, (int index, DkimKeyOptions settings, string name, out string? error) =>
            Parse(reads, index, out error), out var ring);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(DkimOptions.SectionName, typeof(DkimOptions), errors);
        }

        _snapshot = new Snapshot(ring!, [], time.GetUtcNow());
        LogLoaded(ring!.Keys.Count, ring.Keys.Count(k => k.Version is not null));
    }

    /// <summary>
    /// Reads every key again and swaps in the new ring; a key that cannot be read (or no longer parses) keeps the
    /// version read last. Returns true when every key was read.
    /// </summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        var previous = _snapshot ?? throw new InvalidOperationException("LoadAsync first.");
        var reads = await ReadSecretsAsync(cancellationToken);
        var failures = new List<string>();
        var errors = DkimKeyRing.TryLoad(options.Value, (int index, DkimKeyOptions settings, string name, out string? error) =>
        {
            if (Parse(reads, index, out error) is { } key)
            {
                return key;
            }

            // The last good version of this key (its selector already resolved), never nothing and never garbage.
            failures.Add(error!);
            LogReadFailed(error!);
            // A ring in force loaded every entry, in order: entry N is key N.
            error = null;
            return previous.Ring.Keys[index];
        }, out var ring);

        if (errors.Count > 0)
        {
            // The new versions do not fit together (e.g. a selector tag that another key uses): keep the whole last ring.
            foreach (var error in errors)
            {
                LogReadFailed(error);
            }

            _snapshot = previous with { Failures = [.. failures.Union(errors)] };
            return false;
        }

        // Nothing new: the ring in force stays (its RSA instances too).
        var changed = ring!.Keys.Count != previous.Ring.Keys.Count
            || ring.Keys.Zip(previous.Ring.Keys).Any(pair => (pair.First.Domain, pair.First.Selector, pair.First.Version) != (pair.Second.Domain, pair.Second.Selector, pair.Second.Version));
        foreach (var key in ring.Keys.Where(k => k.Version is not null && !previous.Ring.Keys.Any(p => p.Version == k.Version && p.Selector == k.Selector)))
        {
            LogNewVersion(key.Domain, key.Selector, key.Version!);
        }

        _snapshot = new Snapshot(changed ? ring : previous.Ring, failures, failures.Count == 0 ? time.GetUtcNow() : previous.LastSuccess);
        return failures.Count == 0;
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Keys.Any(k => k.KeyVaultUri is not null))
        {
            _refreshing = RefreshLoopAsync(_stopping.Token);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_refreshing is not null)
        {
            await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    private async Task RefreshLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.RefreshInterval, time, cancellationToken);
                await RefreshAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The loop outlives any one refresh: a bug in one is logged, the last ring stays.
                LogRefreshCrashed(ex);
            }
        }
    }

    private async Task<Dictionary<int, Read>> ReadSecretsAsync(CancellationToken cancellationToken)
    {
        var keys = options.Value.Keys;
        var reads = new Dictionary<int, Read>();
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i] is { KeyVaultUri: { } vault, SecretName: { Length: > 0 } secret } settings)
            {
                reads[i] = await ReadAsync(vault, secret, settings.SecretVersion, $"{DkimOptions.SectionName}:Keys:{i}", cancellationToken);
            }
        }

        return reads;
    }

    private async Task<Read> ReadAsync(Uri vault, string secret, string version, string name, CancellationToken cancellationToken)
    {
        var what = $"{name}:SecretName '{secret}' in {vault}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadTimeout);
        try
        {
            var client = clients.CreateClient(ClientName(vault));
            var response = await client.GetSecretAsync(secret, string.IsNullOrEmpty(version) ? null : version, timeout.Token);
            return new Read(response.Value, what, null);
        }
        catch (RequestFailedException ex)
        {
            return new Read(null, what, $"{what} cannot be read: {ex.Status} {ex.ErrorCode ?? "error"}{Advice(ex.Status)}");
        }
        catch (AuthenticationFailedException ex)
        {
            return new Read(null, what, $"{what} cannot be read: no token for the managed identity ({FirstLine(ex.Message)}); is AZURE_CLIENT_ID the app's identity?");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Read(null, what, $"{what} cannot be read: no answer within {ReadTimeout.TotalSeconds:0} s.");
        }
    }

    private static DkimKey? Parse(Dictionary<int, Read> reads, int index, out string? error)
    {
        var read = reads[index];
        if (read.Secret is not { } secret)
        {
            error = read.Error;
            return null;
        }

        if (secret.Properties.Enabled == false || string.IsNullOrEmpty(secret.Value))
        {
            error = $"{read.What} is disabled or empty.";
            return null;
        }

        var key = DkimKeyRing.ReadPrivateKey(secret.Value, $"{read.What} (version {secret.Properties.Version})", out error);
        if (key is null)
        {
            return null;
        }

        var selector = secret.Properties.Tags.TryGetValue(SelectorTag, out var tagged) ? tagged : "";
        return key with { Selector = selector, Version = secret.Properties.Version };
    }

    private static string Advice(int status) => status switch
    {
        401 or 403 => " (the app's identity needs Key Vault Secrets User on the vault)",
        404 => " (no such secret or version)",
        _ => "",
    };

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    [LoggerMessage(Level = LogLevel.Information, Message = "DKIM keys loaded: {Count} keys, {FromKeyVault} from Key Vault")]
    private partial void LogLoaded(int count, int fromKeyVault);

    [LoggerMessage(Level = LogLevel.Information, Message = "DKIM key of {Domain} now signs with selector {Selector}, secret version {Version}")]
    private partial void LogNewVersion(string domain, string selector, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DKIM key not re-read, the last good version keeps signing: {Problem}")]
    private partial void LogReadFailed(string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "The DKIM key refresh failed; the last good keys keep signing")]
    private partial void LogRefreshCrashed(Exception exception);

    private sealed record Read(KeyVaultSecret? Secret, string What, string? Error);

    private sealed record Snapshot(DkimKeyRing Ring, IReadOnlyList<string> Failures, DateTimeOffset? LastSuccess);
}
