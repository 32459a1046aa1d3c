using System.Diagnostics;
using System.Text;
using Azure.Core;
using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Testing;
using MimeKit;

namespace MailGateway.Listener.Tests;

/// <summary>The listener end to end on the Blob store (MailGateway.AzureAdapters) against Azurite; each test has its own container.</summary>
public sealed class BlobStoreTests
{
    private static BlobContainerClient Container(string connectionString, string name, int maxRetries = 3) =>
        new BlobServiceClient(connectionString, new BlobClientOptions
        {
            Retry = { MaxRetries = maxRetries, Delay = TimeSpan.FromMilliseconds(50), Mode = RetryMode.Fixed, NetworkTimeout = TimeSpan.FromSeconds(10) },
        }).GetBlobContainerClient(name);

    [Fact]
    public async Task Blob_store_keeps_the_message_and_its_metadata()
    {
        var azurite = await AzuriteServer.GetAsync();
        var container = Container(azurite.ConnectionString, AzuriteServer.UniqueName("inbound"));
        await using var listener = await TestListener.StartAsync(store: new BlobInboundMessageStore(container));
        var sent = Clients.Message(subject: "to blob");
        using (var client = await Clients.MailKitAsync(listener.Port, MailKit.Security.SecureSocketOptions.StartTls))
        {
            await client.SendAsync(sent);
            await client.DisconnectAsync(quit: true);
        }

        var blobs = new List<string>();
        await foreach (var item in container.GetBlobsAsync())
        {
            blobs.Add(item.Name);
        }

        Assert.Equal(2, blobs.Count);
        var eml = Assert.Single(blobs, b => b.EndsWith(".eml", StringComparison.Ordinal));
        Assert.Matches(@"^inbound/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.eml$", eml);
        Assert.Contains(Path.ChangeExtension(eml, ".json"), blobs);

        var blob = container.GetBlobClient(eml);
        var properties = (await blob.GetPropertiesAsync()).Value;
        Assert.Equal("message/rfc822", properties.ContentType);
        Assert.Equal("true", properties.Metadata["tls"]);
        Assert.Equal("127.0.0.1", properties.Metadata["clientip"]);
        var content = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        Assert.Equal(properties.Metadata["size"], content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(properties.Metadata["sha256"], Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content)));
        using var stored = MimeMessage.Load(new MemoryStream(content));
        Assert.Equal("to blob", stored.Subject);
        Assert.StartsWith("Received: from client.test", Encoding.ASCII.GetString(content), StringComparison.Ordinal);

        var json = (await container.GetBlobClient(Path.ChangeExtension(eml, ".json")).DownloadContentAsync()).Value.Content.ToString();
        Assert.Contains("\"recipients\"", json, StringComparison.Ordinal);
        Assert.Contains("user@example.test", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Large_message_is_staged_in_blocks_and_stored_byte_for_byte()
    {
        var azurite = await AzuriteServer.GetAsync();
        var container = Container(azurite.ConnectionString, AzuriteServer.UniqueName("inbound"));
        await using var listener = await TestListener.StartAsync(store: new BlobInboundMessageStore(container, blockSize: 64 * 1024));
        var body = new StringBuilder("Subject: big\r\n\r\n");
        for (var i = 0; body.Length < 300_000; i++)
        {
            body.Append("line ").Append(i).Append(' ').Append('b', 70).Append("\r\n");
        }

        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync(body + ".")).Code);

        await foreach (var item in container.GetBlobsAsync())
        {
            if (item.Name.EndsWith(".eml", StringComparison.Ordinal))
            {
                var content = Encoding.ASCII.GetString((await container.GetBlobClient(item.Name).DownloadContentAsync()).Value.Content.ToArray());
                Assert.EndsWith(body.ToString(), content, StringComparison.Ordinal);
                Assert.StartsWith("Received: ", content, StringComparison.Ordinal);
                return;
            }
        }

        Assert.Fail("No .eml blob stored.");
    }

    [Fact]
    public async Task Blob_storage_stopped_mid_session_answers_451()
    {
        // A private Azurite: stopping the shared one would break the other tests.
        var location = Path.Combine(Path.GetTempPath(), "azurite-private-" + Guid.NewGuid().ToString("N"));
        var (process, blobPort, _) = await AzuriteServer.StartProcessAsync(location);
        try
        {
            var connectionString =
                $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.DevAccountName};AccountKey={AzuriteServer.DevAccountKey};BlobEndpoint=http://127.0.0.1:{blobPort}/{AzuriteServer.DevAccountName};";
            var container = Container(connectionString, AzuriteServer.UniqueName("inbound"), maxRetries: 1);
            await using var listener = await TestListener.StartAsync(store: new BlobInboundMessageStore(container));
            await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);

            await client.CommandAsync("MAIL FROM:<a@remote.test>");
            await client.CommandAsync("RCPT TO:<b@example.test>");
            await client.CommandAsync("DATA");
            Assert.Equal(250, (await client.CommandAsync("Subject: before\r\n\r\nstored\r\n.")).Code);

            await client.CommandAsync("MAIL FROM:<a@remote.test>");
            await client.CommandAsync("RCPT TO:<b@example.test>");
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();

            var reply = await client.CommandAsync("Subject: after\r\n\r\nnot stored\r\n.");
            Assert.Equal(451, reply.Code);
            Assert.StartsWith("451 4.3.0 ", reply.Text, StringComparison.Ordinal);
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.Dispose();
            try
            {
                Directory.Delete(location, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
