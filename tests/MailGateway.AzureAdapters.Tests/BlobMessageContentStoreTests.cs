using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Storage;
using MailGateway.Testing.AzureAdapters;

namespace MailGateway.AzureAdapters.Tests;

/// <summary>Blob storage beyond the claim-check contract (<c>Contracts/AzureStoreContracts.cs</c>): generated names, integrity, readiness.</summary>
public sealed class BlobMessageContentStoreTests
{
    private static readonly byte[] Mime = Encoding.ASCII.GetBytes("From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nhello\r\n");

    [Fact]
    public async Task Blob_names_are_generated_by_the_store_and_never_derived_from_the_id()
    {
        var options = await StorageFixtures.OptionsAsync();
        var store = StorageFixtures.Blob(options, StorageFixtures.Clock());

        var first = await store.SaveAsync("../../other-container/evil", Mime, CancellationToken.None);
        var second = await store.SaveAsync("../../other-container/evil", Mime, CancellationToken.None);

        Assert.Matches(@"^2026/11/28/[0-9a-f]{32}\.eml$", first);
        Assert.NotEqual(first, second);
        Assert.DoesNotContain("evil", first, StringComparison.Ordinal);
        var container = new BlobServiceClient(options.ConnectionString).GetBlobContainerClient(options.ContentContainer);
        var names = new List<string>();
        await foreach (var item in container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, null, CancellationToken.None))
        {
            names.Add(item.Name);
            Assert.Equal("message/rfc822", item.Properties.ContentType);
            Assert.Equal(64, item.Metadata[BlobMessageContentStore.HashMetadataKey].Length);
        }

        Assert.Equal(new[] { first, second }.Order(), names.Order());
    }

    [Theory]
    [InlineData("../outbound/2026/11/28/00000000000000000000000000000000.eml")]
    [InlineData("2026/11/28/../../x.eml")]
    [InlineData("https://evil.example/2026/11/28/00000000000000000000000000000000.eml")]
    [InlineData("")]
    public async Task A_reference_the_store_did_not_generate_is_refused(string reference)
    {
        var options = await StorageFixtures.OptionsAsync();
        var store = StorageFixtures.Blob(options, StorageFixtures.Clock());

        await Assert.ThrowsAsync<MessageContentNotFoundException>(() => store.OpenReadAsync(reference, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeleteAsync(reference, CancellationToken.None));
    }

    [Fact]
    public async Task Tampered_content_fails_the_integrity_check()
    {
        var options = await StorageFixtures.OptionsAsync();
        var store = StorageFixtures.Blob(options, StorageFixtures.Clock());
        var reference = await store.SaveAsync("msg-1", Mime, CancellationToken.None);

        // Overwrite the bytes but keep the original hash metadata, as a corruption would.
        var blob = new BlobServiceClient(options.ConnectionString).GetBlobContainerClient(options.ContentContainer).GetBlobClient(reference);
        var metadata = (await blob.GetPropertiesAsync()).Value.Metadata;
        await blob.UploadAsync(BinaryData.FromString("From: mallory@example.com\r\n\r\nchanged\r\n"), new BlobUploadOptions { Metadata = metadata });

        var error = await Assert.ThrowsAsync<MessageContentNotFoundException>(() => store.OpenReadAsync(reference, CancellationToken.None));
        Assert.Contains("integrity", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ready_when_the_container_is_reachable_and_not_when_the_service_is_down()
    {
        var options = await StorageFixtures.OptionsAsync();
        Assert.True(await StorageFixtures.Blob(options, StorageFixtures.Clock()).IsReadyAsync(CancellationToken.None));

        using var refused = MailGateway.Testing.FreePort.Refused();
        var down = new AzureStorageOptions
        {
            ConnectionString = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={MailGateway.Testing.AzuriteServer.DevAccountKey};BlobEndpoint=http://127.0.0.1:{refused.Port}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{refused.Port}/devstoreaccount1;",
            ContentContainer = "outbound",
        };
        var noRetry = new BlobClientOptions { Retry = { MaxRetries = 0 } };
        var store = new BlobMessageContentStore(new BlobServiceClient(down.ConnectionString, noRetry), Microsoft.Extensions.Options.Options.Create(down), TimeProvider.System);
        Assert.False(await store.IsReadyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Without_creating_containers_a_missing_container_is_not_ready()
    {
        var options = await StorageFixtures.OptionsAsync();
        options.CreateIfNotExists = false;

        Assert.False(await StorageFixtures.Blob(options, StorageFixtures.Clock()).IsReadyAsync(CancellationToken.None));
    }
}
