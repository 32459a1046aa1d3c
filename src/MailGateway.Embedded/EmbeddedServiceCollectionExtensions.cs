using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MailGateway.Embedded;

/// <summary>Registration of the embedded adapters (SQLite queue and status, SQLite or file content store) and the in-process worker.</summary>
public static class EmbeddedServiceCollectionExtensions
{
    /// <summary>Registers the SQLite queue and status store and the content store (<see cref="EmbeddedStorageOptions.ContentStore"/>), with options from <c>MailGateway:Storage</c>.</summary>
    public static IServiceCollection AddEmbeddedStorage(this IServiceCollection services)
    {
        services.AddOptions<EmbeddedStorageOptions>()
            .BindConfiguration(EmbeddedStorageOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SqliteDatabase>();
        services.TryAddSingleton<SqliteDeliveryQueue>();
        services.TryAddSingleton<IDeliveryQueue>(sp => sp.GetRequiredService<SqliteDeliveryQueue>());
        services.TryAddSingleton<SqliteMessageStatusStore>();
        services.TryAddSingleton<IMessageStatusStore>(sp => sp.GetRequiredService<SqliteMessageStatusStore>());
        services.TryAddSingleton<FileMessageContentStore>();
        services.TryAddSingleton<SqliteMessageContentStore>();
        services.TryAddSingleton<IMessageContentStore>(sp =>
            sp.GetRequiredService<IOptions<EmbeddedStorageOptions>>().Value.ContentStore == MessageContentStoreKind.Files
                ? sp.GetRequiredService<FileMessageContentStore>()
                : sp.GetRequiredService<SqliteMessageContentStore>());
        services.TryAddSingleton<IMessageIntake>(sp => new SqliteMessageIntake(
            sp.GetRequiredService<SqliteDatabase>(),
            sp.GetRequiredService<SqliteMessageStatusStore>(),
            sp.GetRequiredService<SqliteDeliveryQueue>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IMessageContentStore>() as SqliteMessageContentStore));
        return services;
    }

    /// <summary>
    /// Registers the delivery worker for the SQLite queue (options from <c>MailGateway:Worker</c>) and the
    /// host-agnostic job handler. The host registers an <see cref="Core.Delivery.IDeliveryEngine"/>.
    /// </summary>
    public static IServiceCollection AddEmbeddedDeliveryWorker(this IServiceCollection services)
    {
        services.AddEmbeddedStorage();
        services.AddDeliveryJobHandler();
        services.AddOptions<DeliveryWorkerOptions>()
            .BindConfiguration(DeliveryWorkerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddHostedService<SqliteDeliveryWorker>();
        services.AddHostedService<IdempotencyKeyJanitor>();
        return services;
    }
}
