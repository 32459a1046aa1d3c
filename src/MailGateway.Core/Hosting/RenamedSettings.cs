using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Hosting;

/// <summary>
/// Settings that were renamed: a host that still sets an old name stops at start with the new name, instead of
/// ignoring the value silently (an old <c>MailGateway:Worker:Concurrency=64</c> would otherwise run with 8).
/// </summary>
public static class RenamedSettings
{
    /// <summary>Old name → new name.</summary>
    public static IReadOnlyDictionary<string, string> Delivery { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["MailGateway:Worker:Concurrency"] = "MailGateway:DeliveryWorker:Concurrency",
        ["MailGateway:Worker:LeaseDuration"] = "MailGateway:DeliveryWorker:LeaseDuration",
        ["MailGateway:Worker:IdlePollInterval"] = "MailGateway:DeliveryWorker:IdlePollInterval",
        ["MailGateway:Worker:Enabled"] = "MailGateway:DeliveryWorker:Enabled",
        ["MailGateway:DeliveryWorker:MaxConcurrentCalls"] = "MailGateway:DeliveryWorker:Concurrency",
        ["MailGateway:Storage:MaxDeliveryCount"] = "MailGateway:DeliveryWorker:MaxDeliveryCount",
    };

    /// <summary>The problems of <paramref name="configuration"/>: one line per old name that is set.</summary>
    public static IEnumerable<string> Problems(IConfiguration configuration, IReadOnlyDictionary<string, string> renamed)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(renamed);
        foreach (var (old, now) in renamed)
        {
            if (configuration[old] is not null)
            {
                yield return $"{old} was renamed to {now}.";
            }
        }
    }

    /// <summary>Fails the validation of the delivery worker's options while an old name of <see cref="Delivery"/> is set.</summary>
    internal sealed class DeliveryValidator(IConfiguration configuration) : IValidateOptions<Queue.DeliveryWorkerOptions>
    {
        public ValidateOptionsResult Validate(string? name, Queue.DeliveryWorkerOptions options)
        {
            var problems = Problems(configuration, Delivery).ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
