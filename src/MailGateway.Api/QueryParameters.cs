using System.Globalization;
using MailGateway.Core.Messages;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace MailGateway.Api;

/// <summary>
/// The one reading of query parameters for every list endpoint: an unknown name is <c>unknown_parameter</c> and a
/// name given twice <c>repeated_parameter</c> (a typo is an error, not a silently wider list); every problem is a
/// field error, reported all at once by the caller.
/// </summary>
internal static class QueryParameters
{
    /// <summary>Field names and values are echoed back at most this long.</summary>
    private const int MaxEchoedLength = 32;

    /// <summary>Unknown and repeated query parameters, as field errors.</summary>
    public static List<FieldError> Check(IQueryCollection parameters, IReadOnlyList<string> allowed)
    {
        var errors = new List<FieldError>();
        foreach (var (name, values) in parameters)
        {
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                errors.Add(new FieldError(Truncate(name), ApiErrorCodes.UnknownParameter, $"Unknown query parameter (use {string.Join(", ", allowed)})."));
            }
            else if (values.Count > 1)
            {
                errors.Add(new FieldError(name, ApiErrorCodes.RepeatedParameter, $"'{name}' is given more than once."));
            }
        }

        return errors;
    }

    /// <summary>The one value of a query parameter, or null when it is absent or repeated (<see cref="Check"/> reports that).</summary>
    public static string? Value(IQueryCollection parameters, string name) =>
        parameters.TryGetValue(name, out StringValues values) && values.Count == 1 ? values[0] : null;

    /// <summary>An ISO 8601 date-time with Z or an offset, or a field error.</summary>
    public static DateTimeOffset? Time(IQueryCollection parameters, string name, List<FieldError> errors)
    {
        if (Value(parameters, name) is not { } value)
        {
            return null;
        }

        // An unencoded '+' of an offset arrives as a space; a date-time has no space in it otherwise.
        value = value.Replace(' ', '+');
        var t = value.IndexOfAny(['T', 't']);
        if (value.Length > 40 || t < 0 || !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            errors.Add(new FieldError(name, ApiErrorCodes.InvalidDateTime, "An ISO 8601 date-time such as 2026-12-01T09:00:00Z."));
            return null;
        }

        var tail = value.AsSpan(t + 1);
        if (!(tail.EndsWith("Z", StringComparison.OrdinalIgnoreCase) || tail.IndexOfAny('+', '-') >= 0))
        {
            errors.Add(new FieldError(name, ValidationCodes.OffsetRequired, "A date-time needs a UTC offset or Z; without one its time zone is unknown."));
            return null;
        }

        return parsed;
    }

    /// <summary>Text from the request, cut to <see cref="MaxEchoedLength"/> characters before it is echoed in an error.</summary>
    public static string Truncate(string text) => text.Length > MaxEchoedLength ? text[..MaxEchoedLength] + "…" : text;
}
