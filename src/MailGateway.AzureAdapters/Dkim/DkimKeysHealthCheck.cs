using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MailGateway.AzureAdapters.Dkim;

/// <summary>
/// Check <c>dkimKeys</c>: Healthy while every key was read at the last refresh; Degraded (with the settings that failed)
/// while some key signs with its last good version. Not a readiness check: the replica still signs, and a Key Vault
/// outage must take neither the API nor the MX out of service.
/// </summary>
public sealed class DkimKeysHealthCheck(KeyVaultDkimKeySource source) : IHealthCheck
{
    /// <summary>The check's name.</summary>
    public const string Name = "dkimKeys";

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failures = source.Failures;
        return Task.FromResult(failures.Count == 0
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded(
                $"Signing with the last good version of {failures.Count} key(s) (last complete read {source.LastSuccess:u}): {string.Join("; ", failures)}"));
    }
}
