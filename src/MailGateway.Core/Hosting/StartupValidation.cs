using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Hosting;

/// <summary>
/// Runs the <c>ValidateOnStart</c> checks before a host starts and reports a bad setting as one line naming its
/// section, instead of the host's "Hosting failed to start" error with a stack trace.
/// </summary>
public static class StartupValidation
{
    /// <summary>The exit code of a host stopped by invalid configuration.</summary>
    public const int InvalidConfigurationExitCode = 2;

    /// <summary>Validates every option registered with ValidateOnStart; writes each problem to <paramref name="error"/>.</summary>
    /// <returns>True when the configuration is valid.</returns>
    public static bool TryValidate(IServiceProvider services, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
            return true;
        }
        catch (OptionsValidationException ex)
        {
            error.WriteLine(Describe(ex));
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            // Options built from other options report the same failure more than once.
            foreach (var line in ex.InnerExceptions.Cast<OptionsValidationException>().Select(Describe).Distinct())
            {
                error.WriteLine(line);
            }
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
        {
            // A value that does not parse (e.g. a TimeSpan): the binder's message names the setting.
            error.WriteLine("Invalid configuration: " + ex.Message);
        }

        return false;
    }

    /// <summary>"Invalid configuration in {section}: {failures}", the section taken from the options' SectionName.</summary>
    public static string Describe(OptionsValidationException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var section = exception.OptionsType.GetField("SectionName")?.GetValue(null) as string ?? exception.OptionsType.Name;
        return $"Invalid configuration in {section}: {string.Join("; ", exception.Failures)}";
    }
}
