using System.ComponentModel.DataAnnotations;

namespace MailGateway.AzureAdapters.Storage;

/// <summary>
/// The gateway's storage account, one configuration shape for every Azure host (section <c>MailGateway:AzureStorage</c>):
/// the outbound content container and the tables (API, delivery worker) and the inbound container (inbound listener).
/// Each registration checks the endpoints it needs (<see cref="NeedsTables"/>).
/// </summary>
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

    /// <summary>The container of received inbound messages (<c>inbound/yyyy/MM/dd/{id}.eml</c> and <c>.json</c>). Default <c>inbound</c>.</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "MailGateway:AzureStorage:InboundContainer is not a valid container name.")]
    public string InboundContainer { get; set; } = "inbound";

    /// <summary>Inbound messages larger than this are staged block by block while they arrive (memory per session: one block). Default 4 MiB.</summary>
    [Range(64 * 1024, 100 * 1024 * 1024, ErrorMessage = "MailGateway:AzureStorage:InboundBlockSize must be between 65536 (64 KiB) and 104857600 (100 MiB).")]
    public int InboundBlockSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>The table of message status records and their attempts.</summary>
    [Required]
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "MailGateway:AzureStorage:StatusTable is not a valid table name.")]
    public string StatusTable { get; set; } = "MessageStatus";

    /// <summary>The table of idempotency keys.</summary>
    [Required]
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "MailGateway:AzureStorage:IdempotencyTable is not a valid table name.")]
    public string IdempotencyTable { get; set; } = "IdempotencyKeys";

    /// <summary>The table of the per-key suppression lists (API and delivery worker). Default <c>Suppressions</c>.</summary>
    [Required]
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "MailGateway:AzureStorage:SuppressionTable is not a valid table name.")]
    public string SuppressionTable { get; set; } = "Suppressions";

    /// <summary>How long an idempotency key is honoured (at least 24 hours); an older key may be reused for a new message.</summary>
    public TimeSpan IdempotencyRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Create the container and tables when missing (needs the data-contributor roles, which the gateway has anyway).</summary>
    public bool CreateIfNotExists { get; set; } = true;

    /// <summary>
    /// Whether the Table service is needed: set by the registration of the status store (the API and the delivery
    /// worker) and of the bounce recorder; the inbound listener without submission or bounce processing uses Blob only,
    /// so it needs no Table endpoint.
    /// </summary>
    internal bool NeedsTables { get; set; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) && (BlobServiceUri is null || (NeedsTables && TableServiceUri is null)))
        {
            yield return new ValidationResult(
                NeedsTables
                    ? "Set MailGateway:AzureStorage:BlobServiceUri and MailGateway:AzureStorage:TableServiceUri (managed identity) or MailGateway:AzureStorage:ConnectionString (development)."
                    : "Set MailGateway:AzureStorage:BlobServiceUri (managed identity) or MailGateway:AzureStorage:ConnectionString (development).",
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
