namespace MailGateway.Core.Queue;

/// <summary>The reasons the delivery worker gives when it dead-letters a job (Service Bus DeadLetterReason, SQLite column).</summary>
public static class DeadLetterReasons
{
    /// <summary>The relay refused the message permanently.</summary>
    public const string Failed = "Failed";

    /// <summary>The maximum age or the caller's deadline passed before delivery.</summary>
    public const string Expired = "Expired";

    /// <summary>The relay may have accepted it (connection lost after the final dot); not resent automatically.</summary>
    public const string Unknown = "Unknown";

    /// <summary>The stored MIME is gone or corrupt.</summary>
    public const string ContentMissing = "ContentMissing";

    /// <summary>The job cannot be read (unknown schema version, no status record).</summary>
    public const string MalformedJob = "MalformedJob";

    /// <summary>The queue handed the job out too many times without a settlement (crashes while handling it).</summary>
    public const string TooManyDeliveries = "TooManyDeliveries";
}
