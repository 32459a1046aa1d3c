using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.Infra.Tests;

/// <summary>
/// Runs an app's own service registration (its <c>Add…(IHostApplicationBuilder)</c> composition, as its Program.cs calls
/// it) against a given set of settings, then builds every options object of the gateway's own code. Binding records
/// every configuration key the app looks up; validation tells whether the app would start.
/// </summary>
public static class AppConfigurationProbe
{
    /// <summary>Probes one app.</summary>
    /// <param name="compose">The app's registration, e.g. <c>b =&gt; b.AddDeliveryWorker()</c>.</param>
    /// <param name="appSettingsJson">The app's shipped appsettings.json (read first, overridden by the settings), if any.</param>
    /// <param name="settings">Settings in environment-variable form (<c>MailGateway__Relay__Host</c>).</param>
    public static ProbeResult Run(Action<IHostApplicationBuilder> compose, string? appSettingsJson, IReadOnlyDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(compose);
        ArgumentNullException.ThrowIfNull(settings);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Production });
        if (appSettingsJson is not null && File.Exists(appSettingsJson))
        {
            builder.Configuration.AddJsonFile(appSettingsJson, optional: false, reloadOnChange: false);
        }

        // Last source: it answers first, so it sees every lookup of the app, whichever source holds the value.
        var recording = new RecordingConfigurationSource(settings.ToDictionary(s => s.Key.Replace("__", ":", StringComparison.Ordinal), s => s.Value, StringComparer.OrdinalIgnoreCase));
        ((IConfigurationBuilder)builder.Configuration).Add(recording);
        compose(builder);

        using var provider = builder.Services.BuildServiceProvider();
        var optionsTypes = builder.Services
            .Select(d => d.ServiceType)
            .Where(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IConfigureOptions<>))
            .Select(t => t.GetGenericArguments()[0])
            .Where(t => t.Namespace?.StartsWith("MailGateway", StringComparison.Ordinal) == true)
            .Distinct()
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToList();

        var failures = new List<string>();
        foreach (var type in optionsTypes)
        {
            var factory = provider.GetRequiredService(typeof(IOptionsFactory<>).MakeGenericType(type));
            try
            {
                factory.GetType().GetMethod(nameof(IOptionsFactory<object>.Create))!.Invoke(factory, [Options.DefaultName]);
            }
            catch (TargetInvocationException e) when (e.InnerException is OptionsValidationException invalid)
            {
                failures.AddRange(invalid.Failures.Select(f => $"{type.Name}: {f}"));
            }
            catch (TargetInvocationException e) when (e.InnerException is InvalidOperationException bad)
            {
                // A value the binder cannot convert (e.g. "abc" for an int).
                failures.Add($"{type.Name}: {bad.Message}");
            }
        }

        return new ProbeResult(optionsTypes, recording.Provider!.Reads, failures);
    }

    private sealed class RecordingConfigurationSource(Dictionary<string, string?> data) : IConfigurationSource
    {
        public RecordingConfigurationProvider? Provider { get; private set; }

        public IConfigurationProvider Build(IConfigurationBuilder builder) => Provider = new RecordingConfigurationProvider(data);
    }

    private sealed class RecordingConfigurationProvider : ConfigurationProvider
    {
        private readonly HashSet<string> _reads = new(StringComparer.OrdinalIgnoreCase);

        public RecordingConfigurationProvider(Dictionary<string, string?> data)
        {
            Data = new Dictionary<string, string?>(data, StringComparer.OrdinalIgnoreCase);
        }

        public IReadOnlySet<string> Reads
        {
            get
            {
                lock (_reads)
                {
                    return _reads.ToHashSet(StringComparer.OrdinalIgnoreCase);
                }
            }
        }

        public override bool TryGet(string key, out string? value)
        {
            lock (_reads)
            {
                _reads.Add(key);
            }

            return base.TryGet(key, out value);
        }
    }
}

/// <summary>What a probe saw.</summary>
/// <param name="OptionsTypes">The gateway's options classes the app registers.</param>
/// <param name="Reads">Every configuration key (colon form) the app looked up while binding them.</param>
/// <param name="Failures">Validation and binding failures: why the app would not start.</param>
public sealed record ProbeResult(IReadOnlyList<Type> OptionsTypes, IReadOnlySet<string> Reads, IReadOnlyList<string> Failures);
