using System.Diagnostics.Metrics;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.AzureAdapters.Suppressions;
using MailGateway.Core.Bounces;
using MailGateway.Core.Delivery;
using MailGateway.Core.Events;
using MailGateway.Core.Messages;
using MailGateway.Core.Status;
using MailGateway.Core.Suppressions;
using MailGateway.Inbound;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;

namespace MailGateway.Listener.Tests;

/// <summary>
/// Bounce processing in the Container Apps inbound host (Program.cs's <c>AddInboundHost</c>) on Azurite: the real
/// listener on loopback stores each report in Blob, then applies it to the Table status store and suppression list the
/// API and the delivery worker use. The message is put in the status table by the Table store itself (as the API does)
/// and its VERP sender is made by <see cref="BounceAddresses"/> with the shared secret (as the delivery worker does);
/// reports come in with MailKit and the null reverse path a bounce has.
/// </summary>
public sealed class InboundBounceTests
{
    private const string BounceDomain = "bounces.gateway.test";
    private const string Secret = "a-test-secret-of-at-least-32-characters";
    private const string Owner = "billing";

    private sealed record Storage(AzureStorageOptions Options, string ConnectionString)
    {
        public TableMessageStatusStore Status() =>
            new(new TableServiceClient(ConnectionString), Microsoft.Extensions.Options.Options.Create(Options), TimeProvider.System, NullLogger<TableMessageStatusStore>.Instance);

        public TableSuppressionList Suppressions() => new(new TableServiceClient(ConnectionString), Microsoft.Extensions.Options.Options.Create(Options));

        public async Task<IReadOnlyList<MessageEvent>> EventsAsync(string id) =>
            await new TableMessageEventStore(new TableServiceClient(ConnectionString), Microsoft.Extensions.Options.Options.Create(Options))
                .ReadAsync(new MessageEventQuery(Owner, 0, 1000, id), CancellationToken.None);

        /// <summary>The feed across messages (GET /api/v1/events on Azure), read with a clock past its settle time.</summary>
        public async Task<IReadOnlyList<MessageEvent>> FeedAsync() =>
            await new TableMessageEventStore(
                    new TableServiceClient(ConnectionString),
                    Microsoft.Extensions.Options.Options.Create(Options),
                    new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(5)))
                .ReadAsync(new MessageEventQuery(Owner, 0, 1000), CancellationToken.None);

        public async Task<List<string>> BlobsAsync()
        {
            var names = new List<string>();
            await foreach (var item in new BlobServiceClient(ConnectionString).GetBlobContainerClient(Options.InboundContainer).GetBlobsAsync())
            {
                names.Add(item.Name);
            }

            return names;
        }
    }

    private static async Task<Storage> StorageAsync()
    {
        var azurite = await AzuriteServer.GetAsync();
        return new Storage(
            new AzureStorageOptions
            {
                ConnectionString = azurite.ConnectionString,
                InboundContainer = AzuriteServer.UniqueName("inbound-"),
                StatusTable = AzuriteServer.UniqueName("status"),
                IdempotencyTable = AzuriteServer.UniqueName("idem"),
                SuppressionTable = AzuriteServer.UniqueName("supp"),
                EventFeedTable = AzuriteServer.UniqueName("feed"),
            },
            azurite.ConnectionString);
    }

    private sealed class InboundApp(WebApplication app) : IAsyncDisposable
    {
        public IServiceProvider Services => app.Services;

        public int Port => app.Services.GetRequiredService<InboundListenerService>().LocalEndpoints.Single().Port;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>The inbound host as Program.cs builds it; <paramref name="connectionString"/> may point Table storage elsewhere.</summary>
    private static async Task<InboundApp> StartAsync(Storage storage, string? connectionString = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ApplicationName = "MailGateway.Inbound" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailGateway:Inbound:ServerName"] = "mx.gateway.test",
            ["MailGateway:Inbound:Domains:0"] = "example.test",
            ["MailGateway:Inbound:Store"] = "Blob",
            ["MailGateway:Inbound:Endpoints:0:Address"] = "127.0.0.1",
            ["MailGateway:Inbound:Endpoints:0:Port"] = "0",
            ["MailGateway:AzureStorage:ConnectionString"] = connectionString ?? storage.ConnectionString,
            ["MailGateway:AzureStorage:InboundContainer"] = storage.Options.InboundContainer,
            ["MailGateway:AzureStorage:StatusTable"] = storage.Options.StatusTable,
            ["MailGateway:AzureStorage:IdempotencyTable"] = storage.Options.IdempotencyTable,
            ["MailGateway:AzureStorage:SuppressionTable"] = storage.Options.SuppressionTable,
            ["MailGateway:AzureStorage:EventFeedTable"] = storage.Options.EventFeedTable,
            ["MailGateway:Bounces:Domain"] = BounceDomain,
            ["MailGateway:Bounces:Secret"] = Secret,
        });
        builder.AddInboundHost();
        var app = builder.Build();
        await app.StartAsync();
        return new InboundApp(app);
    }

    /// <summary>The VERP sender the delivery worker uses for recipient <paramref name="index"/> (same secret, same class).</summary>
    private static string Verp(string id, int index) =>
        new BounceAddresses(Microsoft.Extensions.Options.Options.Create(new BounceOptions { Domain = BounceDomain, Secret = Secret })).For(id, index)!;

    /// <summary>A message the API accepted and the worker delivered to both recipients, in the Table status store.</summary>
    private static async Task<string> DeliveredAsync(Storage storage, params string[] recipients)
    {
        var id = Guid.NewGuid().ToString("N");
        var now = DateTimeOffset.UtcNow;
        var status = storage.Status();
        await status.CreateAsync(new MessageRecord
        {
            Id = id,
            Owner = Owner,
            State = MessageState.Queued,
            CreatedAt = now,
            UpdatedAt = now,
            ExpiresAt = now.AddDays(1),
            Recipients = [.. recipients.Select(r => new RecipientResult(r, RecipientState.Deferred, null))],
            Tags = ["welcome"],
            ContentReference = "outbound/" + id,
            Envelope = new Envelope("app@example.com", recipients),
        }, null, CancellationToken.None);
        await status.TryBeginSendingAsync(id, CancellationToken.None);
        await status.RecordAttemptAsync(id, new DeliveryAttemptRecord(1, now, TimeSpan.FromSeconds(1), DeliveryOutcomeKind.Delivered, 587, "Tls13", "250 2.0.0 queued"),
            MessageState.Delivered, [.. recipients.Select(r => new RecipientResult(r, RecipientState.Delivered, new SmtpReply(250, "2.0.0", "queued")))], null, "250 2.0.0 queued",
            CancellationToken.None);
        return id;
    }

    /// <summary>Sends <paramref name="report"/> to <paramref name="rcptTo"/> with MailKit and MAIL FROM:&lt;&gt;; returns the reply code to the end of DATA.</summary>
    private static async Task<int> SendAsync(int port, string rcptTo, MimeMessage report)
    {
        using var client = await Clients.MailKitAsync(port, SecureSocketOptions.None);
        try
        {
            await client.SendAsync(report, new MailboxAddress("", ""), [MailboxAddress.Parse(rcptTo)]);
            return 250;
        }
        catch (SmtpCommandException ex) when (ex.ErrorCode == SmtpErrorCode.MessageNotAccepted)
        {
            return (int)ex.StatusCode;
        }
        finally
        {
            await client.DisconnectAsync(quit: true);
        }
    }

    private static MetricCollector<long> Outcomes(InboundApp app) =>
        new(app.Services.GetRequiredService<IMeterFactory>(), BounceProcessor.MeterName, BounceProcessor.CounterName);

    private static List<string?> Seen(MetricCollector<long> collector) => [.. collector.GetMeasurementSnapshot().Select(m => (string?)m.Tags["outcome"])];

    [Fact]
    public async Task A_DSN_to_the_VERP_sender_makes_the_recipient_bounced_with_its_event_and_suppresses_the_address()
    {
        var storage = await StorageAsync();
        var id = await DeliveredAsync(storage, "ok@example.net", "bob@example.net");
        await using var app = await StartAsync(storage);
        using var outcomes = Outcomes(app);

        var verp = Verp(id, 1);
        var dsn = BounceReports.Dsn(verp, "bob@example.net", "5.1.1", "smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown");
        Assert.Equal(250, await SendAsync(app.Port, verp, dsn));

        // Applied before the 250: the status row, the event row and the suppression entry are there now.
        var record = (await storage.Status().GetAsync(id, CancellationToken.None))!;
        var states = record.Recipients.ToDictionary(r => r.Address, r => r);
        Assert.Equal(RecipientState.Delivered, states["ok@example.net"].State);
        Assert.Equal(RecipientState.Bounced, states["bob@example.net"].State);
        Assert.Equal((550, "5.1.1"), (states["bob@example.net"].Reply!.Code, states["bob@example.net"].Reply!.EnhancedCode));
        Assert.Equal(MessageState.Delivered, record.State);

        var events = await storage.EventsAsync(id);
        var bounced = Assert.Single(events, e => e.Type == MessageEventTypes.Bounced);
        Assert.Equal("bob@example.net", bounced.Recipient);
        Assert.Contains("5.1.1", bounced.Reply, StringComparison.Ordinal);
        Assert.Equal(["welcome"], bounced.Tags);
        Assert.Equal(events.Max(e => e.Sequence), bounced.Sequence);

        // The change went through the event feed as every status change does: the bounced event is in the feed too.
        var fed = Assert.Single(await storage.FeedAsync(), e => e.Type == MessageEventTypes.Bounced);
        Assert.Equal((id, "bob@example.net", bounced.Sequence), (fed.MessageId, fed.Recipient, fed.Sequence));

        var entry = Assert.Single(await storage.Suppressions().ListAsync(new SuppressionQuery(Owner, DateTimeOffset.UtcNow, null, 10), CancellationToken.None));
        Assert.Equal(("bob@example.net", SuppressionReasons.Bounce, id), (entry.Address, entry.Reason, entry.MessageId));
        Assert.Equal(["bob@example.net"], await storage.Suppressions().FindAsync(Owner, ["ok@example.net", "bob@example.net"], DateTimeOffset.UtcNow, CancellationToken.None));
        Assert.Equal(["applied"], Seen(outcomes));

        // The report itself is stored in Blob like any inbound message (.eml and .json).
        Assert.Equal(2, (await storage.BlobsAsync()).Count);

        // The same DSN again (an MTA that retried): applied once, no second event.
        Assert.Equal(250, await SendAsync(app.Port, verp, dsn));
        Assert.Single(await storage.EventsAsync(id), e => e.Type == MessageEventTypes.Bounced);
        Assert.Equal(4, (await storage.BlobsAsync()).Count);
    }

    [Fact]
    public async Task A_complaint_adds_a_complaint_entry_without_a_status_change()
    {
        var storage = await StorageAsync();
        var id = await DeliveredAsync(storage, "angry@example.net");
        await using var app = await StartAsync(storage);

        var verp = Verp(id, 0);
        Assert.Equal(250, await SendAsync(app.Port, verp, BounceReports.Complaint(verp)));

        var entry = Assert.Single(await storage.Suppressions().ListAsync(new SuppressionQuery(Owner, DateTimeOffset.UtcNow, null, 10), CancellationToken.None));
        Assert.Equal(("angry@example.net", SuppressionReasons.Complaint), (entry.Address, entry.Reason));
        Assert.Equal(RecipientState.Delivered, Assert.Single((await storage.Status().GetAsync(id, CancellationToken.None))!.Recipients).State);
        Assert.DoesNotContain(await storage.EventsAsync(id), e => e.Type == MessageEventTypes.Bounced);
    }

    [Fact]
    public async Task A_forged_token_a_DSN_for_an_unknown_message_a_non_report_and_an_oversized_one_are_stored_and_counted_but_change_nothing()
    {
        var storage = await StorageAsync();
        var id = await DeliveredAsync(storage, "bob@example.net");
        await using var app = await StartAsync(storage);
        using var outcomes = Outcomes(app);

        // One character of the signed token changed; a token signed with another secret; no token; a valid token of a
        // message the status table does not have.
        var verp = Verp(id, 0);
        var local = verp[..verp.IndexOf('@', StringComparison.Ordinal)];
        var altered = local[..^1] + (local[^1] == 'a' ? 'b' : 'a') + "@" + BounceDomain;
        var otherSecret = new BounceAddresses(Microsoft.Extensions.Options.Options.Create(new BounceOptions { Domain = BounceDomain, Secret = new string('x', 40) })).For(id, 0)!;
        foreach (var forged in new[] { altered, otherSecret, "postmaster@" + BounceDomain })
        {
            Assert.Equal(250, await SendAsync(app.Port, forged, BounceReports.Dsn(forged, "bob@example.net", "5.1.1", "smtp; 550 5.1.1 unknown")));
        }

        var unknown = Verp(Guid.NewGuid().ToString("N"), 0);
        Assert.Equal(250, await SendAsync(app.Port, unknown, BounceReports.Dsn(unknown, "bob@example.net", "5.1.1", "smtp; 550 5.1.1 unknown")));

        // A signed token with a body that is no report, and a DSN over MaxReportBytes (256 KiB): stored, never applied.
        Assert.Equal(250, await SendAsync(app.Port, verp, Clients.Message(to: verp, subject: "Out of office", body: "I am away.\r\n")));
        var huge = BounceReports.Dsn(verp, "bob@example.net", "5.1.1", "smtp; 550 5.1.1 unknown");
        ((MultipartReport)huge.Body!)[0] = new TextPart("plain") { Text = string.Concat(Enumerable.Repeat(new string('x', 76) + "\r\n", 4000)) };
        Assert.Equal(250, await SendAsync(app.Port, verp, huge));

        Assert.Equal(["forged", "forged", "forged", "unmatched", "not_a_report", "too_big"], Seen(outcomes));
        Assert.Equal(RecipientState.Delivered, Assert.Single((await storage.Status().GetAsync(id, CancellationToken.None))!.Recipients).State);
        Assert.DoesNotContain(await storage.EventsAsync(id), e => e.Type == MessageEventTypes.Bounced);
        Assert.Empty(await storage.Suppressions().ListAsync(new SuppressionQuery(null, DateTimeOffset.UtcNow, null, 10), CancellationToken.None));
        Assert.Equal(12, (await storage.BlobsAsync()).Count);

        // Mail for a domain that is neither an inbound domain nor the bounce domain is refused: no open relay.
        using var client = await Clients.MailKitAsync(app.Port, SecureSocketOptions.None);
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(BounceReports.Dsn("x@elsewhere.test", "b@example.net", "5.1.1", "smtp; 550"),
            new MailboxAddress("", ""), [MailboxAddress.Parse("x@elsewhere.test")]));
        Assert.Equal(SmtpErrorCode.RecipientNotAccepted, refused.ErrorCode);
    }

    [Fact]
    public async Task With_Table_storage_unreachable_a_DSN_is_stored_in_Blob_and_answered_451_and_applied_when_it_comes_again()
    {
        var storage = await StorageAsync();
        var id = await DeliveredAsync(storage, "bob@example.net");
        var azurite = await AzuriteServer.GetAsync();

        // Blob as before; Table on a loopback port nothing listens on (connections refused, the SDK's retries exhausted).
        using var refused = FreePort.Refused();
        var tableDown = $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.DevAccountName};AccountKey={AzuriteServer.DevAccountKey};" +
                        $"BlobEndpoint={azurite.BlobEndpoint};TableEndpoint=http://127.0.0.1:{refused.Port}/{AzuriteServer.DevAccountName};";
        var verp = Verp(id, 0);
        var dsn = BounceReports.Dsn(verp, "bob@example.net", "5.1.1", "smtp; 550 5.1.1 unknown");
        await using (var down = await StartAsync(storage, tableDown))
        {
            using var outcomes = Outcomes(down);
            Assert.Equal(451, await SendAsync(down.Port, verp, dsn));
            Assert.Equal(["deferred"], Seen(outcomes));

            // An ordinary message to an inbound domain needs no Table: still 250.
            Assert.Equal(250, await SendAsync(down.Port, "user@example.test", Clients.Message()));
        }

        // Nothing lost: the report is in Blob (with its metadata), the status untouched until the MTA's next try.
        var stored = await storage.BlobsAsync();
        Assert.Equal(4, stored.Count);
        Assert.Equal(RecipientState.Delivered, Assert.Single((await storage.Status().GetAsync(id, CancellationToken.None))!.Recipients).State);

        await using var up = await StartAsync(storage);
        Assert.Equal(250, await SendAsync(up.Port, verp, dsn));
        Assert.Equal(RecipientState.Bounced, Assert.Single((await storage.Status().GetAsync(id, CancellationToken.None))!.Recipients).State);
        Assert.Equal(["bob@example.net"], await storage.Suppressions().FindAsync(Owner, ["bob@example.net"], DateTimeOffset.UtcNow, CancellationToken.None));
    }
}
