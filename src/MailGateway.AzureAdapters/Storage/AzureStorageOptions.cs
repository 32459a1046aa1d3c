using System.ComponentModel.DataAnnotations;

namespace MailGateway.AzureAdapters.Storage;

/// <summary>Blob and Table storage of the gateway (section <c>MailGateway:AzureStorage</c>).</summary>
public sealed class AzureStorageOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:AzureStorage";

    /// <summary>The Blob service, e.g. <c>https://contosomail.blob.core.windows.net</c> (identity-based connection, used in Azure).</summary>
    public Uri? BlobServiceUri { get; set; }

    /// <summary>The Table service, e.g. <c>https://contosomail.table.core.windows.net</c> (identity-based connection).</summary>
    public Uri? TableServiceUri { get; set; }

    /// <summary>A connection string for both services (development, Azurite; takes precedence over the URIs).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The container of composed outbound messages (the claim check).</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "MailGateway:AzureStorage:ContentContainer is not a valid container name.")]
    public string ContentContainer { get; set; } = "outbound";

    /// <summary>The table of message status records and their attempts.</summary>
    [Required]
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "MailGateway:AzureStorage:StatusTable is not a valid table name.")]
    public string StatusTable { get; set; } = "MessageStatus";

    /// <summary>The table of idempotency keys.</summary>
    [Required]
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "MailGateway:AzureStorage:IdempotencyTable is not a valid table name.")]
    public string IdempotencyTable { get; set; } = "IdempotencyKeys";

    /// <summary>How long an idempotency key is honoured (at least 24 hours); an older key may be reused for a new message.</summary>
    public TimeSpan IdempotencyRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Create the container and tables when missing (needs the data-contributor roles, which the gateway has anyway).</summary>
    public bool CreateIfNotExists { get; set; } = true;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) && (BlobServiceUri is null || TableServiceUri is null))
        {
            yield return new ValidationResult(
                "Set MailGateway:AzureStorage:BlobServiceUri and MailGateway:AzureStorage:TableServiceUri (managed identity) or MailGateway:AzureStorage:ConnectionString (development).",
                [nameof(BlobServiceUri), nameof(TableServiceUri), nameof(ConnectionString)]);
        }

        if (IdempotencyRetention < TimeSpan.FromHours(24))
        {
            yield return new ValidationResult(
                "MailGateway:AzureStorage:IdempotencyRetention must be at least 1.00:00:00 (24 hours).",
                [nameof(IdempotencyRetention)]);
        }
    }
}
