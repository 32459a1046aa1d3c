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

    /// <summary>The table of the event feed's entries (intents, see <c>TableEventFeed</c>; API and delivery worker). Default <c>EventFeed</c>.</summary>
    [Required]
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "MailGateway:AzureStorage:EventFeedTable is not a valid table name.")]
    public string EventFeedTable { get; set; } = "EventFeed";

    /// <summary>
    /// The table of the webhook endpoints created through the API and of every endpoint's delivery state (the API
    /// writes the endpoints, the delivery worker's dispatcher the state).
    /// </summary>
    [Required]
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "MailGateway:AzureStorage:WebhookTable is not a valid table name.")]
    public string WebhookTable { get; set; } = "Webhooks";

    /// <summary>
    /// How far behind the clock the feed reads (default 5 s, 100 ms – 1 min): an entry is served only once it is this
    /// old, and a writer whose entry took longer than half of it to write does not use it. It covers the write's
    /// latency and the clock difference between hosts (at most half of it).
    /// </summary>
    public TimeSpan EventFeedSettle { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the feed waits for a change whose entry was written but whose outcome is unknown (a crash, a slow
    /// writer) before it settles it itself, which stops that change from ever committing (default 30 s, at least
    /// <see cref="EventFeedSettle"/>, at most 1 h).
    /// </summary>
    public TimeSpan EventFeedGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the event feed keeps its entries (default 30 days, 1 day – 10 years): the delivery worker removes the
    /// hours older than this. A message's own events (its partition) are not affected.
    /// </summary>
    public TimeSpan EventFeedRetention { get; set; } = TimeSpan.FromDays(30);

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

        if (EventFeedSettle < TimeSpan.FromMilliseconds(100) || EventFeedSettle > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("MailGateway:AzureStorage:EventFeedSettle must be between 00:00:00.1 and 00:01:00.", [nameof(EventFeedSettle)]);
        }

        if (EventFeedRetention < TimeSpan.FromDays(1) || EventFeedRetention > TimeSpan.FromDays(3650))
        {
            yield return new ValidationResult("MailGateway:AzureStorage:EventFeedRetention must be between 1.00:00:00 and 3650.00:00:00.", [nameof(EventFeedRetention)]);
        }

        if (EventFeedGrace < EventFeedSettle || EventFeedGrace > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult("MailGateway:AzureStorage:EventFeedGrace must be at least EventFeedSettle and at most 01:00:00.", [nameof(EventFeedGrace)]);
        }

        if (IdempotencyRetention < TimeSpan.FromHours(24))
        {
            yield return new ValidationResult(
                "MailGateway:AzureStorage:IdempotencyRetention must be at least 1.00:00:00 (24 hours).",
                [nameof(IdempotencyRetention)]);
        }
    }
}
