using MailGateway.AzureAdapters.ServiceBus;
using Microsoft.Extensions.Logging;

namespace MailGateway.AzureAdapters;

internal static partial class AzureLog
{
    [LoggerMessage(1001, LogLevel.Warning, "Lock lost for job {MessageId} before {Settlement}: not settled; Service Bus will redeliver it")]
    public static partial void LockLostBeforeSettlement(ILogger logger, string messageId, SettlementKind settlement);

    [LoggerMessage(1002, LogLevel.Error, "Malformed delivery job (Service Bus MessageId {ServiceBusMessageId}, delivery {DeliveryCount}): {Problem}; dead-lettering it")]
    public static partial void MalformedJob(ILogger logger, string? serviceBusMessageId, int deliveryCount, string problem);

    [LoggerMessage(1003, LogLevel.Error, "Handling job {MessageId} failed (delivery {DeliveryCount}); left for redelivery after its lock expires")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string messageId, int deliveryCount);

    [LoggerMessage(1004, LogLevel.Warning, "Job {MessageId} aborted by shutdown; left for redelivery")]
    public static partial void AbortedUnsettled(ILogger logger, string messageId);

    [LoggerMessage(1005, LogLevel.Debug, "Job {MessageId} left unsettled (delivery {DeliveryCount})")]
    public static partial void LeftUnsettled(ILogger logger, string messageId, int deliveryCount);

    [LoggerMessage(1006, LogLevel.Warning, "Idempotency key of owner {Owner} older than the retention was taken over by message {MessageId}")]
    public static partial void IdempotencyKeyExpired(ILogger logger, string owner, string messageId);

    [LoggerMessage(1007, LogLevel.Warning, "Readiness check of {Component} failed")]
    public static partial void NotReady(ILogger logger, Exception exception, string component);
}
