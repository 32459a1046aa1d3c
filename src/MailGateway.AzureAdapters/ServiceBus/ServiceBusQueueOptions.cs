using System.ComponentModel.DataAnnotations;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>The Service Bus delivery queue (section <c>MailGateway:ServiceBus</c>).</summary>
public sealed class ServiceBusQueueOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:ServiceBus";

    /// <summary>The namespace host name, e.g. <c>contoso-mail.servicebus.windows.net</c> (identity-based connection, used in Azure).</summary>
    public string? FullyQualifiedNamespace { get; set; }

    /// <summary>A connection string (development only; takes precedence over <see cref="FullyQualifiedNamespace"/>).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The queue of delivery jobs. It should have duplicate detection enabled.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._/-]{0,259}$", ErrorMessage = "MailGateway:ServiceBus:QueueName is not a valid queue name.")]
    public string QueueName { get; set; } = "outbound";

    /// <summary>
    /// The most dead letters one list, search or replay looks at in the dead-letter sub-queue (Service Bus can only
    /// browse it oldest first, and has no index: a filter or a newest-first page is a scan). Dead letters past it
    /// are neither listed nor replayable until older ones are replayed or purged.
    /// </summary>
    [Range(100, 100_000, ErrorMessage = "MailGateway:ServiceBus:DeadLetterScanLimit must be from 100 to 100000.")]
    public int DeadLetterScanLimit { get; set; } = 5_000;

    /// <summary>
    /// The most messages one read of the queue's numbers (the Azure dashboard's queue page) peeks at, from the head,
    /// for the due times of the waiting jobs and the age of the oldest one; the counts themselves are the whole queue's.
    /// </summary>
    [Range(10, 10_000, ErrorMessage = "MailGateway:ServiceBus:QueuePeekLimit must be from 10 to 10000.")]
    public int QueuePeekLimit { get; set; } = 1_000;

    /// <summary>How long a receive from the dead-letter sub-queue waits for a message before it counts it as empty.</summary>
    public TimeSpan DeadLetterReceiveWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) && string.IsNullOrWhiteSpace(FullyQualifiedNamespace))
        {
            yield return new ValidationResult(
                "Set MailGateway:ServiceBus:FullyQualifiedNamespace (managed identity) or MailGateway:ServiceBus:ConnectionString (development).",
                [nameof(FullyQualifiedNamespace), nameof(ConnectionString)]);
        }

        if (DeadLetterReceiveWait <= TimeSpan.Zero || DeadLetterReceiveWait > TimeSpan.FromSeconds(30))
        {
            yield return new ValidationResult(
                "MailGateway:ServiceBus:DeadLetterReceiveWait must be above 00:00:00 and at most 00:00:30.",
                [nameof(DeadLetterReceiveWait)]);
        }
    }
}
