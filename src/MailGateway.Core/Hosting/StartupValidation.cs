using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Hosting;

/// <summary>
/// Runs the <c>ValidateOnStart</c> checks before a host starts and reports a bad setting as one line naming its
/// section, instead of the host's "Hosting failed to start" error with a stack trace. Every host runs it (through
/// <c>RunServiceAsync</c> of MailGateway.ServiceDefaults).
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
        catch (Exception ex) when (TryDescribe(ex, error))
        {
            return false;
        }
    }

    /// <summary>
    /// When <paramref name="exception"/> is a configuration error (failed validation, a value that does not convert),
    /// writes one line per problem to <paramref name="error"/> and returns true; otherwise writes nothing.
    /// </summary>
    public static bool TryDescribe(Exception exception, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(error);
        switch (exception)
        {
            case OptionsValidationException invalid:
                error.WriteLine(Describe(invalid));
                return true;
            case AggregateException many when many.InnerExceptions.All(e => e is OptionsValidationException):
                // Options built from other options report the same failure more than once.
                foreach (var line in many.InnerExceptions.Cast<OptionsValidationException>().Select(Describe).Distinct())
                {
                    error.WriteLine(line);
                }

                return true;
            case InvalidOperationException bad when bad.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal):
                // A value that does not parse (e.g. a TimeSpan): the binder's message names the setting.
                error.WriteLine("Invalid configuration: " + bad.Message);
                return true;
            default:
                return false;
        }
    }

    /// <summary>"Invalid configuration in {section}: {failures}", the section taken from the options' SectionName.</summary>
    public static string Describe(OptionsValidationException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var section = exception.OptionsType.GetField("SectionName")?.GetValue(null) as string ?? exception.OptionsType.Name;
        return $"Invalid configuration in {section}: {string.Join("; ", exception.Failures)}";
    }
}
