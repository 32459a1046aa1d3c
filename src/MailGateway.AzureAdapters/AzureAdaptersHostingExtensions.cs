using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;
using Azure.Security.KeyVault.Certificates;
using Azure.Security.KeyVault.Secrets;
using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.Certificates;
using MailGateway.AzureAdapters.Dkim;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.AzureAdapters.Suppressions;
using MailGateway.AzureAdapters.Webhooks;
using MailGateway.Core;
using MailGateway.Core.Bounces;
using MailGateway.Core.Dkim;
using MailGateway.Core.Events;
using MailGateway.Core.Inbound;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using MailGateway.Core.Suppressions;
using MailGateway.Core.Webhooks;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters;

/// <summary>
/// Registration of the Azure adapters, the one place that builds Azure SDK clients and credentials. Clients come from
/// <c>Microsoft.Extensions.Azure</c> (<c>AddAzureClients</c>): with a connection string when one is configured
/// (development, Azurite), otherwise with one <see cref="DefaultAzureCredential"/> per process against the configured
/// service URI / namespace / vault (managed identity in Azure; <c>AZURE_CLIENT_ID</c> selects a user-assigned one).
/// </summary>
public static class AzureAdaptersHostingExtensions
{
    /// <summary>Blob content store, Table status store and its per-message event log (<see cref="AzureStorageOptions"/>).</summary>
    public static IHostApplicationBuilder AddAzureMessageStores(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddTableService(builder);
        builder.Services.AddSingleton<IMessageContentStore, BlobMessageContentStore>();
        builder.Services.TryAddSingleton<TableMessageStatusStore>();
        builder.Services.AddSingleton<IMessageStatusStore>(sp => sp.GetRequiredService<TableMessageStatusStore>());
        builder.Services.AddSingleton<IMessageOperations>(sp => sp.GetRequiredService<TableMessageStatusStore>());
        // The event rows the status store writes in each message's partition (one message's events; no feed yet).
        builder.Services.TryAddSingleton<TableMessageEventStore>();
        builder.Services.TryAddSingleton<IMessageEventStore>(sp => sp.GetRequiredService<TableMessageEventStore>());
        return builder;
    }

    /// <summary>
    /// The suppression list in Table storage (<see cref="TableSuppressionList"/>, table
    /// <see cref="AzureStorageOptions.SuppressionTable"/>) as <see cref="ISuppressionList"/>, replacing any list registered
    /// before (the delivery handler's <see cref="NoSuppressionList"/>). Call it after <see cref="AddAzureMessageStores"/>.
    /// </summary>
    public static IHostApplicationBuilder AddAzureSuppressionList(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TableSuppressionList>();
        builder.Services.Replace(ServiceDescriptor.Singleton<ISuppressionList>(sp => sp.GetRequiredService<TableSuppressionList>()));
        return builder;
    }

    /// <summary>
    /// The webhook endpoints and their delivery state in Table storage (<see cref="TableWebhookStore"/>, table
    /// <see cref="AzureStorageOptions.WebhookTable"/>) as <see cref="IWebhookRegistry"/> and <see cref="IWebhookStateStore"/>,
    /// and <see cref="WebhookOptions"/>: for the API (the <c>/api/v1/webhooks</c> routes) and the delivery worker (its
    /// dispatcher). The identity needs Storage Table Data Contributor on the table.
    /// </summary>
    public static IHostApplicationBuilder AddAzureWebhookStore(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddTableService(builder);
        builder.Services.AddWebhookOptions();
        builder.Services.TryAddSingleton<TableWebhookStore>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IWebhookRegistry>(sp => sp.GetRequiredService<TableWebhookStore>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IWebhookStateStore>(sp => sp.GetRequiredService<TableWebhookStore>()));
        return builder;
    }

    /// <summary>
    /// The event feed's retention (<see cref="EventFeedJanitor"/>, <see cref="AzureStorageOptions.EventFeedRetention"/>),
    /// for the delivery worker: call it after <see cref="AddAzureMessageStores"/>.
    /// </summary>
    public static IHostApplicationBuilder AddAzureEventFeedJanitor(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHostedService<EventFeedJanitor>();
        return builder;
    }

    /// <summary>
    /// The dispatch lease of the delivery worker's replicas (<see cref="BlobWebhookDispatchLease"/>: a Blob lease in the
    /// content container), so one replica sends the webhooks. The identity needs Storage Blob Data Contributor there.
    /// </summary>
    public static IHostApplicationBuilder AddAzureWebhookDispatchLease(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddStorageAccount(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IWebhookDispatchLease, BlobWebhookDispatchLease>());
        return builder;
    }

    /// <summary>
    /// Bounce processing's recorder on Table storage (<see cref="TableBounceRecorder"/> as Core's
    /// <see cref="IBounceRecorder"/>), for the inbound container app: the status table (through
    /// <see cref="TableMessageStatusStore"/>, its event rows included) and the suppression table, on the storage
    /// account of <see cref="AzureStorageOptions"/> (the Table endpoint becomes required). The identity needs Storage
    /// Table Data Contributor on both tables.
    /// </summary>
    public static IHostApplicationBuilder AddAzureBounceRecorder(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddTableService(builder);
        builder.Services.TryAddSingleton<TableMessageStatusStore>();
        builder.Services.TryAddSingleton<TableSuppressionList>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IBounceRecorder, TableBounceRecorder>());
        return builder;
    }

    /// <summary>The sending side of the Service Bus queue: <see cref="IDeliveryQueue"/> (<see cref="ServiceBusQueueOptions"/>).</summary>
    public static IHostApplicationBuilder AddServiceBusDeliveryQueue(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ServiceBusQueueOptions>()
            .BindConfiguration(ServiceBusQueueOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        AddGatewayClients(builder, clients =>
        {
            clients.AddClient<ServiceBusClient, ServiceBusClientOptions>((options, credential, services) =>
            {
                var bus = services.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value;
                return string.IsNullOrWhiteSpace(bus.ConnectionString)
                    ? new ServiceBusClient(bus.FullyQualifiedNamespace, credential, options)
                    : new ServiceBusClient(bus.ConnectionString, options);
            });
        });
        // One sender for the queue, from the same client as the processor: a transaction (send the scheduled copy +
        // complete the original) must run on one connection.
        builder.Services.TryAddSingleton<IServiceBusJobSender>(services =>
        {
            var client = services.GetRequiredService<ServiceBusClient>();
            var queue = services.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value.QueueName;
            return new ServiceBusJobSender(client.CreateSender(queue));
        });
        builder.Services.TryAddSingleton<IDeliveryQueue, ServiceBusDeliveryQueue>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>The name of the Service Bus client of the dead-letter store (its own connection, cross-entity transactions on).</summary>
    public const string DeadLetterClientName = "dead-letters";

    /// <summary>
    /// The dead letters of the Service Bus queue as <see cref="IDeadLetterStore"/> (<see cref="ServiceBusDeadLetterStore"/>):
    /// the dead-letter sub-queue on a client of its own with <see cref="ServiceBusClientOptions.EnableCrossEntityTransactions"/>
    /// (a replay completes the dead letter and sends the job in one transaction), the Table status store and the Blob
    /// content store: call it after <see cref="AddAzureMessageStores"/> and <see cref="AddServiceBusDeliveryQueue"/>. The
    /// identity needs Data Receiver and Data Sender on the queue.
    /// </summary>
    public static IHostApplicationBuilder AddServiceBusDeadLetters(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddGatewayClients(builder, clients =>
        {
            clients.AddClient<ServiceBusClient, ServiceBusClientOptions>((options, credential, services) =>
            {
                // The sub-queue is the first entity this client touches; the send to the queue is routed through it.
                options.EnableCrossEntityTransactions = true;
                var bus = services.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value;
                return string.IsNullOrWhiteSpace(bus.ConnectionString)
                    ? new ServiceBusClient(bus.FullyQualifiedNamespace, credential, options)
                    : new ServiceBusClient(bus.ConnectionString, options);
            }).WithName(DeadLetterClientName);
        });
        builder.Services.TryAddSingleton<IServiceBusDeadLetterQueue>(services =>
        {
            var client = services.GetRequiredService<IAzureClientFactory<ServiceBusClient>>().CreateClient(DeadLetterClientName);
            var bus = services.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value;
            return new ServiceBusDeadLetterQueue(client, bus.QueueName, bus.DeadLetterReceiveWait);
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<IDeadLetterStore, ServiceBusDeadLetterStore>());
        return builder;
    }

    /// <summary>
    /// The delivery queue's numbers as <see cref="IServiceBusQueueMetrics"/> (<see cref="ServiceBusQueueMetrics"/>), for
    /// the Azure dashboard's queue page: a <see cref="ServiceBusAdministrationClient"/> on the namespace of
    /// <see cref="ServiceBusQueueOptions"/> (same connection string or credential as the queue's clients) for the runtime
    /// counts, and a peek-only receiver on the queue from the default client. Call it after
    /// <see cref="AddServiceBusDeliveryQueue"/>. The counts need the Manage right: with Entra ID, Azure Service Bus Data
    /// Owner on the queue (Data Receiver covers the peek).
    /// </summary>
    public static IHostApplicationBuilder AddServiceBusQueueMetrics(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddGatewayClients(builder, clients =>
        {
            clients.AddClient<ServiceBusAdministrationClient, ServiceBusAdministrationClientOptions>((options, credential, services) =>
            {
                var bus = services.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value;
                return string.IsNullOrWhiteSpace(bus.ConnectionString)
                    ? new ServiceBusAdministrationClient(bus.FullyQualifiedNamespace, credential, options)
                    : new ServiceBusAdministrationClient(bus.ConnectionString, options);
            });
        });
        builder.Services.TryAddSingleton<IServiceBusQueueMetrics>(services =>
        {
            var client = services.GetRequiredService<ServiceBusClient>();
            var queue = services.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value.QueueName;
            var receiver = client.CreateReceiver(queue, new ServiceBusReceiverOptions { PrefetchCount = 0 });
            return new ServiceBusQueueMetrics(services.GetRequiredService<ServiceBusAdministrationClient>(), receiver, queue);
        });
        return builder;
    }

    /// <summary>
    /// The receiving side for the delivery worker: <see cref="IDeliveryJobProcessor"/> and <see cref="ServiceBusJobDispatcher"/>
    /// (<see cref="ServiceBusWorkerOptions"/>). The host registers the <see cref="IDeliveryJobHandler"/>.
    /// </summary>
    public static IHostApplicationBuilder AddServiceBusDeliveryProcessor(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServiceBusDeliveryQueue();
        builder.Services.AddOptions<ServiceBusWorkerOptions>()
            .BindConfiguration(ServiceBusWorkerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton<IDeliveryJobProcessor, ServiceBusDeliveryJobProcessor>();
        builder.Services.TryAddSingleton<ServiceBusJobDispatcher>();
        return builder;
    }

    /// <summary>
    /// The Blob inbound store (<see cref="BlobInboundMessageStore"/>) as <see cref="IInboundMessageStore"/>, on the same
    /// storage account and options as the other stores: container <see cref="AzureStorageOptions.InboundContainer"/>,
    /// block size <see cref="AzureStorageOptions.InboundBlockSize"/>, created at start when
    /// <see cref="AzureStorageOptions.CreateIfNotExists"/>. Needs only the Blob endpoint.
    /// </summary>
    public static IHostApplicationBuilder AddAzureInboundMessageStore(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddStorageAccount(builder);
        builder.Services.AddSingleton<IInboundMessageStore>(services =>
        {
            var storage = services.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
            var container = services.GetRequiredService<BlobServiceClient>().GetBlobContainerClient(storage.InboundContainer);
            return new BlobInboundMessageStore(container, storage.InboundBlockSize, storage.CreateIfNotExists);
        });
        return builder;
    }

    /// <summary>
    /// The inbound listener's server certificate from Key Vault (<see cref="KeyVaultServerCertificateSource"/>,
    /// settings <c>MailGateway:Inbound:Tls:KeyVaultUri</c> and <c>KeyVaultCertificateName</c>) as
    /// <see cref="IServerCertificateSource"/>; the client uses the gateway's one credential.
    /// </summary>
    public static IHostApplicationBuilder AddKeyVaultServerCertificate(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<KeyVaultCertificateOptions>()
            .BindConfiguration(KeyVaultCertificateOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        AddGatewayClients(builder, clients =>
        {
            clients.AddClient<CertificateClient, CertificateClientOptions>((options, credential, services) =>
                new CertificateClient(services.GetRequiredService<IOptions<KeyVaultCertificateOptions>>().Value.KeyVaultUri, credential, options));
        });
        builder.Services.AddSingleton<IServerCertificateSource, KeyVaultServerCertificateSource>();
        return builder;
    }

    /// <summary>
    /// DKIM keys from Key Vault as well as PEM files (<see cref="KeyVaultDkimKeySource"/> as Core's
    /// <see cref="IDkimKeySource"/>, for the hosts that sign: the API and SMTP submission): <c>MailGateway:Dkim:Keys:N</c>
    /// with <c>KeyVaultUri</c> + <c>SecretName</c> (+ <c>SecretVersion</c>) instead of <c>PrivateKeyPath</c>, read with the
    /// gateway's one credential (one <see cref="SecretClient"/> per vault, named by
    /// <see cref="KeyVaultDkimKeySource.ClientName"/>) when the host starts and every <c>MailGateway:Dkim:RefreshInterval</c>;
    /// health check <c>dkimKeys</c> (<see cref="DkimKeysHealthCheck"/>, not part of readiness).
    /// </summary>
    public static IHostApplicationBuilder AddKeyVaultDkimKeys(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Services.Any(d => d.ServiceType == typeof(KeyVaultDkimKeySource)))
        {
            return builder;
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.Replace(ServiceDescriptor.Singleton(DkimKeyLocations.FilesAndKeyVault));
        builder.Services.AddSingleton<KeyVaultDkimKeySource>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IDkimKeySource>(sp => sp.GetRequiredService<KeyVaultDkimKeySource>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<KeyVaultDkimKeySource>());
        builder.Services.AddMessageComposition();
        builder.Services.AddHealthChecks().AddCheck<DkimKeysHealthCheck>(DkimKeysHealthCheck.Name, HealthStatus.Degraded, ["dkim"]);

        // The vaults are known from the configuration now; a URI that is not one is reported by the options' validation.
        var vaults = builder.Configuration.GetSection($"{DkimOptions.SectionName}:{nameof(DkimOptions.Keys)}").GetChildren()
            .Select(key => key[nameof(DkimKeyOptions.KeyVaultUri)])
            .Select(value => Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps ? uri : null)
            .OfType<Uri>()
            .DistinctBy(KeyVaultDkimKeySource.ClientName)
            .ToList();
        if (vaults.Count == 0)
        {
            // PEM files only (or nothing): no client is ever asked for, but the source needs its factory.
            builder.Services.TryAddSingleton<IAzureClientFactory<SecretClient>, NoSecretClients>();
            return builder;
        }

        AddGatewayClients(builder, clients =>
        {
            foreach (var vault in vaults)
            {
                clients.AddClient<SecretClient, SecretClientOptions>((options, credential) => new SecretClient(vault, credential, options))
                    .WithName(KeyVaultDkimKeySource.ClientName(vault));
            }
        });
        return builder;
    }

    /// <summary>The Table client (and the storage account), once however many stores use it; the Table endpoint becomes required.</summary>
    private static void AddTableService(IHostApplicationBuilder builder)
    {
        AddStorageAccount(builder);
        if (builder.Services.Any(d => d.ServiceType == typeof(TableServiceRegistered)))
        {
            return;
        }

        builder.Services.AddSingleton<TableServiceRegistered>();
        builder.Services.Configure<AzureStorageOptions>(o => o.NeedsTables = true);
        AddGatewayClients(builder, clients =>
        {
            clients.AddClient<TableServiceClient, TableClientOptions>((options, credential, services) =>
            {
                var storage = services.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
                return string.IsNullOrWhiteSpace(storage.ConnectionString)
                    ? new TableServiceClient(storage.TableServiceUri, credential, options)
                    : new TableServiceClient(storage.ConnectionString, options);
            });
        });
    }

    /// <summary>The storage options and the Blob client, once however many stores use them.</summary>
    private static void AddStorageAccount(IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        if (builder.Services.Any(d => d.ServiceType == typeof(StorageAccountRegistered)))
        {
            return;
        }

        builder.Services.AddSingleton<StorageAccountRegistered>();
        builder.Services.AddOptions<AzureStorageOptions>()
            .BindConfiguration(AzureStorageOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        AddGatewayClients(builder, clients =>
        {
            clients.AddClient<BlobServiceClient, BlobClientOptions>((options, credential, services) =>
            {
                var storage = services.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
                return string.IsNullOrWhiteSpace(storage.ConnectionString)
                    ? new BlobServiceClient(storage.BlobServiceUri, credential, options)
                    : new BlobServiceClient(storage.ConnectionString, options);
            });
        });
    }

    /// <summary>
    /// <c>AddAzureClients</c> with one <see cref="DefaultAzureCredential"/> for every client of the process (one token
    /// cache), registered as <see cref="TokenCredential"/> so the Azure Monitor exporter uses the same identity.
    /// </summary>
    private static void AddGatewayClients(IHostApplicationBuilder builder, Action<AzureClientFactoryBuilder> configure)
    {
        AddGatewayCredential(builder.Services);
        builder.Services.AddAzureClients(clients =>
        {
            clients.UseCredential(services => services.GetRequiredService<TokenCredential>());
            configure(clients);
        });
    }

    /// <summary>The process's one credential (the clients' and the Azure Monitor exporter's).</summary>
    internal static void AddGatewayCredential(IServiceCollection services) =>
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());

    private sealed class StorageAccountRegistered;

    private sealed class TableServiceRegistered;

    private sealed class NoSecretClients : IAzureClientFactory<SecretClient>
    {
        public SecretClient CreateClient(string name) => throw new InvalidOperationException($"No Key Vault is configured for the DKIM keys ('{name}').");
    }
}
