using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Dashboard.Azure.Tests;

/// <summary>
/// The Azure dashboard app as Program.cs composes it (<see cref="AzureDashboardHostingExtensions"/>), on a loopback
/// port: Table and Blob on the run's Azurite (own table and container), the Service Bus dead-letter sub-queue and the
/// queue's numbers the in-memory broker's behind the adapter's own seams (the one mocked part: Service Bus cannot run here).
/// </summary>
public sealed class AzureDashboardHost : IAsyncDisposable
{
    public const string ReaderKey = "test-dashboard-reader-0123456789";
    public const string AdminKey = "test-dashboard-admin-0123456789";
    public const string SendOnlyKey = "test-dashboard-send-0123456789";

    private readonly WebApplication _app;

    private AzureDashboardHost(WebApplication app, InMemoryServiceBus bus, FakeTimeProvider busClock, Uri address)
    {
        _app = app;
        Bus = bus;
        BusClock = busClock;
        BaseAddress = address;
    }

    public InMemoryServiceBus Bus { get; }

    /// <summary>The broker's clock (what is scheduled and what is active there); the app itself runs on the system clock.</summary>
    public FakeTimeProvider BusClock { get; }

    public Uri BaseAddress { get; }

    public IMessageStatusStore Status => _app.Services.GetRequiredService<IMessageStatusStore>();

    public IMessageContentStore Content => _app.Services.GetRequiredService<IMessageContentStore>();

    /// <summary>Starts the app; <paramref name="settings"/> are added to (or override) the test's configuration.</summary>
    public static async Task<AzureDashboardHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var storage = await StorageFixtures.OptionsAsync();
        var busClock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var bus = new InMemoryServiceBus(busClock);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        var configuration = new Dictionary<string, string?>
        {
            ["MailGateway:AzureStorage:ConnectionString"] = storage.ConnectionString,
            ["MailGateway:AzureStorage:ContentContainer"] = storage.ContentContainer,
            ["MailGateway:AzureStorage:StatusTable"] = storage.StatusTable,
            ["MailGateway:AzureStorage:IdempotencyTable"] = storage.IdempotencyTable,
            ["MailGateway:AzureStorage:SuppressionTable"] = storage.SuppressionTable,
            ["MailGateway:AzureStorage:EventFeedTable"] = storage.EventFeedTable,
            // The charts read the feed: serve entries soon after their change.
            ["MailGateway:AzureStorage:EventFeedSettle"] = "00:00:00.200",
            // Never connected to: the dead-letter seam is the in-memory broker's.
            ["MailGateway:ServiceBus:ConnectionString"] = "Endpoint=sb://127.0.0.1/;SharedAccessKeyName=test;SharedAccessKey=dGVzdA==",
            ["MailGateway:ServiceBus:QueueName"] = "outbound",
        };
        AddKey(configuration, 0, "reader", ReaderKey, ApiKeyScopes.Read);
        AddKey(configuration, 1, "ops", AdminKey, ApiKeyScopes.Admin);
        AddKey(configuration, 2, "sender", SendOnlyKey, ApiKeyScopes.Send);
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[name] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddAzureDashboard();
        builder.Services.Replace(ServiceDescriptor.Singleton<IServiceBusDeadLetterQueue>(bus.DeadLetterQueue));
        builder.Services.Replace(ServiceDescriptor.Singleton<IServiceBusQueueMetrics>(bus.QueueMetrics));
        var app = builder.Build();
        app.MapAzureDashboard();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new AzureDashboardHost(app, bus, busClock, new Uri(address));
    }

    /// <summary>A delivered message of <paramref name="owner"/> with its stored MIME (subject <paramref name="subject"/>).</summary>
    public async Task<string> DeliveredAsync(string owner, string subject)
    {
        var id = Guid.NewGuid().ToString("N");
        var mime = System.Text.Encoding.ASCII.GetBytes(
            $"From: app@example.com\r\nTo: b@example.net\r\nSubject: {subject}\r\nMessage-ID: <{id}@example.com>\r\nContent-Type: text/plain\r\n\r\nHello from Azure.\r\n");
        var reference = await Content.SaveAsync(id, mime, CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        await Status.CreateAsync(new MessageRecord
        {
            Id = id, Owner = owner, State = MessageState.Queued, CreatedAt = now, UpdatedAt = now,
            ContentReference = reference, Envelope = new Envelope("app@example.com", ["b@example.net"]),
        }, null, CancellationToken.None);
        await Status.SetStateAsync(id, MessageState.Delivered, "250 2.0.0 Ok", CancellationToken.None);
        return id;
    }

    /// <summary>A failed message of <paramref name="owner"/> whose job is in the dead-letter sub-queue as the worker leaves it.</summary>
    public async Task<string> DeadLetterAsync(string owner)
    {
        var id = Guid.NewGuid().ToString("N");
        var mime = System.Text.Encoding.ASCII.GetBytes($"From: app@example.com\r\nTo: b@example.net\r\nSubject: dead\r\nMessage-ID: <{id}@example.com>\r\n\r\nHello\r\n");
        var reference = await Content.SaveAsync(id, mime, CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        await Status.CreateAsync(new MessageRecord
        {
            Id = id, Owner = owner, State = MessageState.Queued, CreatedAt = now, UpdatedAt = now,
            ContentReference = reference, Envelope = new Envelope("app@example.com", ["b@example.net"]),
        }, null, CancellationToken.None);
        await Status.SetStateAsync(id, MessageState.Failed, "550 5.1.1 No such user", CancellationToken.None);
        var job = new DeliveryJob
        {
            MessageId = id, ContentReference = reference, MailFrom = "app@example.com", Recipients = ["b@example.net"], FirstSeen = now, Owner = owner,
        };
        var message = DeliveryJobMessages.Create(job, null);
        foreach (var (name, value) in DeliveryJobMessages.DeadLetterProperties(now, 1))
        {
            message.ApplicationProperties[name] = value;
        }

        Bus.AddDeadLetter(message, DeadLetterReasons.Failed, "550 5.1.1 No such user");
        return id;
    }

    /// <summary>A job of a new message on the queue, visible at <paramref name="visibleAt"/> on the broker's clock (past: active, future: scheduled).</summary>
    public async Task<string> QueuedAsync(DateTimeOffset visibleAt)
    {
        var id = Guid.NewGuid().ToString("N");
        var job = new DeliveryJob
        {
            MessageId = id, ContentReference = "2026/01/01/" + id + ".eml", MailFrom = "app@example.com", Recipients = ["b@example.net"],
            FirstSeen = visibleAt, Owner = "ops",
        };
        await Bus.SendAsync(DeliveryJobMessages.Create(job, visibleAt), CancellationToken.None);
        return id;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static void AddKey(Dictionary<string, string?> settings, int index, string id, string key, string scope)
    {
        var prefix = $"MailGateway:Api:Keys:{index}:";
        settings[prefix + "Id"] = id;
        settings[prefix + "Sha256"] = ApiKeyVerifier.HashKey(key);
        settings[prefix + "AllowedSenderDomains:0"] = "example.com";
        settings[prefix + "Scopes:0"] = scope;
    }
}
