using System.Net.Http.Headers;
using System.Reflection;
using MailGateway.Core.Events;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Webhooks;
using MailGateway.Embedded;
using MailGateway.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Standalone.Tests.Contract;

/// <summary>
/// The gateways the contract cases talk to, each started on first use: <see cref="MainAsync"/> (a real relay over
/// STARTTLS, a 64 KiB request limit and a 16 KiB message limit so both 413s are reachable), <see cref="BrokenStorageAsync"/>
/// (its content store cannot write: the send and readiness 503s) and <see cref="StatusStoreDownAsync"/> (its status
/// store's reads fail: the status 503).
/// </summary>
public sealed class ContractHosts : IAsyncLifetime
{
    /// <summary>The main host's request-body limit.</summary>
    public const int MaxRequestBodyBytes = 65_536;

    /// <summary>The main host's composed-message limit.</summary>
    public const int MaxMessageBytes = 16_384;

    private readonly Lazy<Task<(TestRelay Relay, GatewayHost Host)>> _main;
    private readonly Lazy<Task<GatewayHost>> _brokenStorage;
    private readonly Lazy<Task<GatewayHost>> _statusStoreDown;
    private readonly Lazy<Task<GatewayHost>> _rateLimited;
    private readonly Lazy<Task<GatewayHost>> _storesDown;
    private readonly Lazy<Task<string>> _deadLetter;
    private readonly Lazy<Task<string>> _webhook;
    private readonly Lazy<Task<OpenApiContract>> _contract;
    private readonly Lazy<Task<string>> _delivered;
    private readonly Lazy<Task<string>> _scheduled;
    private readonly List<HttpClient> _clients = [];
    private readonly List<string> _folders = [];

    public ContractHosts()
    {
        _main = new(async () =>
        {
            // The relay refuses reject@ recipients: their messages fail and become dead letters.
            var relay = await TestRelay.StartAsync(new TestRelayOptions
            {
                RcptReply = to => to.StartsWith("reject@", StringComparison.Ordinal) ? new SmtpServer.Protocol.SmtpResponse(SmtpServer.Protocol.SmtpReplyCode.MailboxUnavailable, "5.7.1 Refused by policy") : null,
            });
            var host = await GatewayHost.StartAsync(relay, s =>
            {
                OperatorKeys.Configure(s);
                // Every NoKey case is a request without a valid key from 127.0.0.1: more than the default 20 a minute.
                s["MailGateway:RateLimits:FailedAuthPerAddress"] = "100000";
                // A webhook endpoint whose receiver is a closed loopback port: its state shows the failures.
                s["MailGateway:Webhooks:AllowLoopback"] = "true";
                s["MailGateway:Webhooks:Endpoints:0:Url"] = $"http://127.0.0.1:{FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture)}/hook";
                s["MailGateway:Webhooks:Endpoints:0:Secret"] = WebhookSignature.NewSecret();
                s["MailGateway:Webhooks:Endpoints:0:KeyId"] = "app";
                s["MailGateway:Webhooks:MaxEndpointsPerKey"] = "20";
                s["MailGateway:Api:MaxRequestBodyBytes"] = MaxRequestBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
                s["MailGateway:Messages:MaxMessageBytes"] = MaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            });
            return (relay, host);
        });
        _brokenStorage = new(async () =>
        {
            // A file where the message folder should be: the file content store cannot write, so nothing is accepted.
            var data = GatewayHost.NewDataDirectory();
            _folders.Add(data);
            Directory.CreateDirectory(data);
            await File.WriteAllTextAsync(Path.Combine(data, "messages"), "a file where the message folder should be");
            return await GatewayHost.StartAsync(null, s =>
            {
                s["MailGateway:Storage:ContentStore"] = "Files";
                s["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
            }, dataDirectory: data);
        });
        _statusStoreDown = new(() => GatewayHost.StartAsync(
            null,
            s => s["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            services =>
            services.AddSingleton<IMessageStatusStore>(sp => FailingReads.Wrap(sp.GetRequiredService<SqliteMessageStatusStore>()))));
        _storesDown = new(() => GatewayHost.StartAsync(
            null,
            s =>
            {
                s["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
                // An endpoint of the key, so the webhook list reads the (failing) state store.
                s["MailGateway:Webhooks:AllowLoopback"] = "true";
                s["MailGateway:Webhooks:Endpoints:0:Url"] = $"http://127.0.0.1:{FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture)}/hook";
                s["MailGateway:Webhooks:Endpoints:0:Secret"] = WebhookSignature.NewSecret();
                s["MailGateway:Webhooks:Endpoints:0:KeyId"] = "app";
            },
            services =>
            {
                services.AddSingleton<IMessageStatusStore>(sp => FailingReads.Wrap(sp.GetRequiredService<SqliteMessageStatusStore>()));
                services.AddSingleton(FailingCalls<IMessageOperations>.Create());
                services.AddSingleton(FailingCalls<IDeadLetterStore>.Create());
                services.AddSingleton(FailingCalls<IMessageEventStore>.Create());
                services.AddSingleton(FailingCalls<IWebhookStateStore>.Create());
                services.AddSingleton(FailingCalls<MailGateway.Core.Suppressions.ISuppressionList>.Create());
                services.AddSingleton(FailingCalls<IWebhookRegistry>.Create());
            }));
        // One request per key per day: the second request of a key is refused (the bucket never refills during the test).
        _rateLimited = new(() => GatewayHost.StartAsync(null, s =>
        {
            s["MailGateway:Capture:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
            s["MailGateway:RateLimits:PerKeyBurst"] = "1";
            s["MailGateway:RateLimits:PerKeyRate"] = "1";
            s["MailGateway:RateLimits:PerKeyPeriod"] = "1.00:00:00";
        }));
        _contract = new(async () =>
        {
            using var anonymous = Anonymous(await MainAsync());
            return new OpenApiContract(await anonymous.GetStringAsync("/openapi/v1.json"));
        });
        _delivered = new(async () =>
        {
            var host = await MainAsync();
            var id = await host.SendAsync(new
            {
                from = new { address = "app@example.com", name = "App" },
                to = new[] { "rcpt@example.net" },
                cc = new[] { new { address = "copy@example.net", name = "Copy" } },
                subject = "Delivered",
                text = "Hello",
                tags = new[] { "contract" },
                metadata = new Dictionary<string, string> { ["case"] = "delivered" },
            });
            await host.WaitForStatusAsync(id, "delivered");
            return id;
        });
        _deadLetter = new(NewDeadLetterAsync);
        _webhook = new(NewWebhookAsync);
        _scheduled = new(async () =>
        {
            var host = await MainAsync();
            var (response, body) = await host.PostAsync(new
            {
                from = "app@example.com",
                to = new[] { "rcpt@example.net" },
                text = "Later",
                sendAt = DateTimeOffset.UtcNow.AddDays(1),
                expiresAt = DateTimeOffset.UtcNow.AddDays(2),
            });
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
            return body.GetProperty("id").GetString()!;
        });
    }

    /// <summary>A host whose status reads, list, dead-letter, event and webhook-state stores all fail: the 503s of the operator endpoints.</summary>
    internal Task<GatewayHost> StoresDownAsync() => _storesDown.Value;

    /// <summary>A dead letter of the main host that no case replays or purges.</summary>
    internal Task<string> DeadLetterIdAsync() => _deadLetter.Value;

    /// <summary>A webhook endpoint of the main host's key <c>app</c>, created through the API, that no case deletes.</summary>
    internal Task<string> WebhookIdAsync() => _webhook.Value;

    /// <summary>A new webhook endpoint of the key <c>app</c> (its receiver is a closed loopback port), for a case that deletes it.</summary>
    internal async Task<string> NewWebhookAsync()
    {
        var host = await MainAsync();
        using var response = await host.Client.PostAsync("/api/v1/webhooks", GatewayHost.Json(new
        {
            url = $"http://127.0.0.1:{FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture)}/hook",
            eventTypes = new[] { "delivered" },
        }));
        var body = await GatewayHost.ReadAsync(response);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, body.ToString());
        return body.GetProperty("id").GetString()!;
    }

    /// <summary>A new dead letter of the main host (a message the relay refuses), for a case that replays or purges it.</summary>
    internal async Task<string> NewDeadLetterAsync()
    {
        var host = await MainAsync();
        var id = await host.SendAsync(new { from = "app@example.com", to = new[] { "reject@example.net" }, subject = "refused", text = "x" });
        await host.WaitForStatusAsync(id, "failed");
        var list = await Poll.UntilAsync(
            async () => await GatewayHost.ReadAsync(await host.Client.GetAsync("/api/v1/dead-letters")),
            l => l.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("messageId").GetString() == id));
        return list.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("messageId").GetString() == id).GetProperty("id").GetString()!;
    }

    /// <summary>
    /// A new dead letter whose stored job is then overwritten with text that is no job (as the row of a job that could
    /// not be read looks): its replay is refused with 409. No API call makes such a row; the test writes it.
    /// </summary>
    internal async Task<string> UnreadableDeadLetterAsync()
    {
        var id = await NewDeadLetterAsync();
        var host = await MainAsync();
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(host.DataDirectory, "gateway.db")};Pooling=False;Default Timeout=30");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE dead_letters SET body = 'not a job' WHERE seq = $seq";
        command.Parameters.AddWithValue("$seq", long.Parse(id, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
        return id;
    }

    /// <summary>A client of the main host with <paramref name="key"/> (disposed with the fixture).</summary>
    internal async Task<HttpClient> WithKeyAsync(string key)
    {
        var client = Anonymous(await MainAsync());
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    internal async Task<GatewayHost> MainAsync() => (await _main.Value).Host;

    internal Task<GatewayHost> BrokenStorageAsync() => _brokenStorage.Value;

    internal Task<GatewayHost> StatusStoreDownAsync() => _statusStoreDown.Value;

    /// <summary>A host whose keys may make one request per day.</summary>
    internal Task<GatewayHost> RateLimitedAsync() => _rateLimited.Value;

    /// <summary>The document served by the main host.</summary>
    internal Task<OpenApiContract> ContractAsync() => _contract.Value;

    /// <summary>A message delivered through the relay (its status has attempts with port, TLS and reply).</summary>
    internal Task<string> DeliveredIdAsync() => _delivered.Value;

    /// <summary>A message scheduled a day ahead (its status has sendAt, expiresAt and nextAttemptAt).</summary>
    internal Task<string> ScheduledIdAsync() => _scheduled.Value;

    /// <summary>A client of <paramref name="host"/> without an API key (disposed with the fixture).</summary>
    internal HttpClient Anonymous(GatewayHost host)
    {
        var client = new HttpClient { BaseAddress = host.Client.BaseAddress };
        _clients.Add(client);
        return client;
    }

    /// <summary>A client of <paramref name="host"/> with a key the host does not know.</summary>
    internal HttpClient UnknownKey(GatewayHost host)
    {
        var client = Anonymous(host);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayHost.AppKey + "-unknown");
        return client;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var host in new[] { _brokenStorage, _statusStoreDown, _rateLimited, _storesDown }.Where(h => h.IsValueCreated))
        {
            await (await host.Value).DisposeAsync();
        }

        if (_main.IsValueCreated)
        {
            var (relay, host) = await _main.Value;
            await host.DisposeAsync();
            await relay.DisposeAsync();
        }

        foreach (var folder in _folders.Where(Directory.Exists))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>
/// A status store whose reads fail as if its database were gone; every other call goes to the real store. A proxy,
/// not a class implementing the interface, so a member added to the store's interface needs no change here.
/// </summary>
public class FailingReads : DispatchProxy
{
    /// <summary>The methods that fail; the status API reads with these.</summary>
    public static readonly HashSet<string> FailingMethods = new(StringComparer.Ordinal) { nameof(IMessageStatusStore.GetAsync) };

    private IMessageStatusStore _inner = null!;

    public static IMessageStatusStore Wrap(IMessageStatusStore inner)
    {
        var proxy = Create<IMessageStatusStore, FailingReads>();
        ((FailingReads)(object)proxy)._inner = inner;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (FailingMethods.Contains(targetMethod.Name))
        {
            var failure = new InvalidOperationException("The status store is gone (test).");
            if (targetMethod.ReturnType.IsGenericType && targetMethod.ReturnType.GetGenericTypeDefinition() == typeof(Task<>))
            {
                var fromException = typeof(Task).GetMethod(nameof(Task.FromException), 1, [typeof(Exception)])!
                    .MakeGenericMethod(targetMethod.ReturnType.GetGenericArguments()[0]);
                return fromException.Invoke(null, [failure]);
            }

            throw failure;
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}

/// <summary>An implementation of <typeparamref name="T"/> whose every call fails as if its database were gone.</summary>
public class FailingCalls<T> : DispatchProxy where T : class
{
    public static T Create() => Create<T, FailingCalls<T>>();

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        var failure = new InvalidOperationException($"{typeof(T).Name} is gone (test).");
        var type = targetMethod.ReturnType;
        if (type == typeof(Task))
        {
            return Task.FromException(failure);
        }

        if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Task<>) || type.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            var task = typeof(Task).GetMethod(nameof(Task.FromException), 1, [typeof(Exception)])!
                .MakeGenericMethod(type.GetGenericArguments()[0]).Invoke(null, [failure]);
            return type.GetGenericTypeDefinition() == typeof(Task<>) ? task : Activator.CreateInstance(type, task);
        }

        if (type == typeof(ValueTask))
        {
            return new ValueTask(Task.FromException(failure));
        }

        throw failure;
    }
}
