using Azure.Data.Tables;
using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.AzureAdapters.Suppressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing.AzureAdapters;

/// <summary>Stores on the run's Azurite, each with its own container and tables.</summary>
public static class StorageFixtures
{
    public static async Task<AzureStorageOptions> OptionsAsync()
    {
        var azurite = await AzuriteServer.GetAsync();
        return new AzureStorageOptions
        {
            ConnectionString = azurite.ConnectionString,
            ContentContainer = AzuriteServer.UniqueName("outbound-"),
            StatusTable = AzuriteServer.UniqueName("status"),
            IdempotencyTable = AzuriteServer.UniqueName("idem"),
            SuppressionTable = AzuriteServer.UniqueName("supp"),
            EventFeedTable = AzuriteServer.UniqueName("feed"),
        };
    }

    public static BlobMessageContentStore Blob(AzureStorageOptions options, TimeProvider time) =>
        new(new BlobServiceClient(options.ConnectionString), Options.Create(options), time);

    public static TableMessageStatusStore Table(AzureStorageOptions options, TimeProvider time) =>
        new(new TableServiceClient(options.ConnectionString), Options.Create(options), time, NullLogger<TableMessageStatusStore>.Instance);

    public static TableSuppressionList Suppressions(AzureStorageOptions options) =>
        new(new TableServiceClient(options.ConnectionString), Options.Create(options));

    public static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
}
