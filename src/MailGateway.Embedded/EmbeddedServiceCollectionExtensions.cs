using MailGateway.Core.Events;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Submissions;
using MailGateway.Core.Webhooks;
using MailGateway.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Polly;

namespace MailGateway.Embedded;

/// <summary>Registration of the embedded adapters (SQLite queue, status and accept port; SQLite or file content store) and the in-process worker.</summary>
public static class EmbeddedServiceCollectionExtensions
{
    /// <summary>
    /// Registers the SQLite queue, status store and accept port (<see cref="SqliteMessageAcceptor"/>) and the content
    /// store (<see cref="EmbeddedStorageOptions.ContentStore"/>), with options from <c>MailGateway:Storage</c>.
    /// </summary>
    public static IServiceCollection AddEmbeddedStorage(this IServiceCollection services)
    {
        services.AddOptions<EmbeddedStorageOptions>()
            .BindConfiguration(EmbeddedStorageOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<RetentionOptions>()
            .BindConfiguration(RetentionOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SqliteDatabase>();
        services.TryAddSingleton<SqliteDeliveryQueue>();
        services.TryAddSingleton<IDeliveryQueue>(sp => sp.GetRequiredService<SqliteDeliveryQueue>());
        services.TryAddSingleton<SqliteMessageStatusStore>();
        services.TryAddSingleton<IMessageStatusStore>(sp => sp.GetRequiredService<SqliteMessageStatusStore>());
        services.TryAddSingleton<IMessageOperations, SqliteMessageOperations>();
        services.TryAddSingleton<IDeadLetterStore, SqliteDeadLetterStore>();
        services.TryAddSingleton<SqliteMessageEventStore>();
        services.TryAddSingleton<SqliteOperationsOverview>();
        services.TryAddSingleton<IOperationsOverview>(sp => sp.GetRequiredService<SqliteOperationsOverview>());
        services.TryAddSingleton<IMessageEventStore>(sp => sp.GetRequiredService<SqliteMessageEventStore>());
        services.TryAddSingleton<FileMessageContentStore>();
        services.TryAddSingleton<SqliteMessageContentStore>();
        services.TryAddSingleton<IMessageContentStore>(sp =>
            sp.GetRequiredService<IOptions<EmbeddedStorageOptions>>().Value.ContentStore == MessageContentStoreKind.Files
                ? sp.GetRequiredService<FileMessageContentStore>()
                : sp.GetRequiredService<SqliteMessageContentStore>());
        services.TryAddSingleton<IMessageAcceptor, SqliteMessageAcceptor>();
        services.TryAddSingleton<IDeliveryRecorder, SqliteDeliveryRecorder>();
        services.TryAddSingleton<SqliteSuppressionList>();
        services.TryAddSingleton<MailGateway.Core.Suppressions.ISuppressionList>(sp => sp.GetRequiredService<SqliteSuppressionList>());
        services.TryAddSingleton<MailGateway.Core.Bounces.IBounceRecorder, SqliteBounceRecorder>();
        return services;
    }

    /// <summary>
    /// Registers the delivery worker for the SQLite queue (options from <c>MailGateway:DeliveryWorker</c>) and the
    /// host-agnostic job handler. The host registers an <see cref="Core.Delivery.IDeliveryEngine"/> and makes
    /// <see cref="DeliveryWorkerOptions.DrainTimeout"/> its shutdown timeout.
    /// </summary>
    public static IServiceCollection AddEmbeddedDeliveryWorker(this IServiceCollection services)
    {
        services.AddEmbeddedStorage();
        services.AddDeliveryJobHandler();
        services.AddOptions<SqliteDeliveryWorkerOptions>()
            .BindConfiguration(SqliteDeliveryWorkerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddHostedService<SqliteDeliveryWorker>();
        services.AddHostedService<IdempotencyKeyJanitor>();
        services.AddHostedService<MessageRetentionJanitor>();
        return services;
    }

    /// <summary>
    /// Registers webhook delivery from the SQLite event log (options from <c>MailGateway:Webhooks</c>, validated at
    /// start): the <see cref="WebhookDispatcher"/>, its state store and the webhook <see cref="HttpClient"/> — no
    /// redirects, no proxy, no cookies, the address policy on every connection, the timeout as the resilience pipeline.
    /// </summary>
    public static IServiceCollection AddEmbeddedWebhooks(this IServiceCollection services)
    {
        services.AddEmbeddedStorage();
        services.TryAddSingleton<SqliteWebhookStateStore>();
        services.TryAddSingleton<IWebhookStateStore>(sp => sp.GetRequiredService<SqliteWebhookStateStore>());
        services.TryAddSingleton<SqliteWebhookRegistry>();
        services.TryAddSingleton<IWebhookRegistry>(sp => sp.GetRequiredService<SqliteWebhookRegistry>());
        services.AddWebhookDelivery();
        return services;
    }
}
