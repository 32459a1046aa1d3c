using System.ComponentModel.DataAnnotations;

namespace MailGateway.Api;

/// <summary>One API key (configuration <c>MailGateway:Api:Keys:N</c>).</summary>
public sealed class ApiKeyOptions
{
    /// <summary>A name for the key; owns the messages sent with it (status is visible only to the same key).</summary>
    [Required(AllowEmptyStrings = false)]
    public string Id { get; set; } = "";

    /// <summary>The SHA-256 of the key, hex (64 digits). The key itself is never configured.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Sha256 { get; set; } = "";

    /// <summary>The domains this key may send from (<c>from</c> outside them → 403). <c>*.example.com</c> also allows subdomains.</summary>
    public List<string> AllowedSenderDomains { get; set; } = [];
}

/// <summary>The HTTP API (configuration section <c>MailGateway:Api</c>).</summary>
public sealed class ApiOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Api";

    /// <summary>The largest request body accepted, in bytes; larger requests get 413 before the body is read. Default 16 MiB (a 10 MB message with base64 attachments).</summary>
    [Range(1024, int.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>The API keys.</summary>
    public List<ApiKeyOptions> Keys { get; set; } = [];

    /// <summary>The Retry-After a 503 answer suggests. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Keys.Count; i++)
        {
            var key = Keys[i];
            var name = $"{SectionName}:Keys:{i}";
            if (string.IsNullOrWhiteSpace(key.Id))
            {
                yield return new ValidationResult($"{name}:Id is required.", [nameof(Keys)]);
            }
            else if (!ids.Add(key.Id))
            {
                yield return new ValidationResult($"{name}:Id '{key.Id}' is used by another key.", [nameof(Keys)]);
            }

            if (key.Sha256 is null || key.Sha256.Length != 64 || !key.Sha256.All(Uri.IsHexDigit))
            {
                yield return new ValidationResult($"{name}:Sha256 must be the SHA-256 of the key as 64 hex digits.", [nameof(Keys)]);
            }

            if (key.AllowedSenderDomains.Count == 0 || key.AllowedSenderDomains.Any(string.IsNullOrWhiteSpace))
            {
                yield return new ValidationResult($"{name}:AllowedSenderDomains must list at least one domain (the API is never an open relay).", [nameof(Keys)]);
            }
        }
    }
}
