using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MailGateway.Api;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.ServiceDefaults;
using MailGateway.Testing.AzureAdapters;
using MailGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Functions.Tests;

/// <summary>An HTTP answer reduced to what a client sees, with generated values (ids, trace ids) replaced.</summary>
internal sealed record Answer(int Status, string? ContentType, string? Location, string? WwwAuthenticate, string? RetryAfter, string Body, string? Id, string? ContentTypeOptions = null);

/// <summary>
/// One composition of the Functions host (<see cref="FunctionsHostingExtensions.AddMailGatewayFunctions"/> on Azurite,
/// Service Bus replaced by a recording sender, its dead-letter sub-queue by the in-memory broker's) answering two ways: through the standalone host's pipeline
/// (<see cref="ApiApplicationBuilderExtensions.UseMailGatewayApiDefaults"/>) and endpoint mapping on a real Kestrel, and through the Function classes invoked directly with an ASP.NET Core <see cref="HttpContext"/>.
/// </summary>
internal sealed class ApiHarness : IAsyncDisposable
{
    public const string Key1 = "secret-key-one";
    public const string Key2 = "secret-key-two";

    private readonly WebApplication _app;
    private readonly HttpClient _client;

    private ApiHarness(WebApplication app, RecordingSender sender, InMemoryServiceBus deadLetters)
    {
        _app = app;
        Sender = sender;
        DeadLetters = deadLetters;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address) };
        Functions = ActivatorUtilities.CreateInstance<MessagesFunctions>(app.Services);
    }

    public RecordingSender Sender { get; }

    /// <summary>
    /// The broker whose dead-letter sub-queue the host's dead-letter routes work on; a replayed job lands on its queue
    /// (<see cref="InMemoryServiceBus.Waiting"/>), not in <see cref="Sender"/>.
    /// </summary>
    public InMemoryServiceBus DeadLetters { get; }

    public MessagesFunctions Functions { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<ApiHarness> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null)
    {
        var azurite = await AzuriteServer.GetAsync();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailGateway:AzureStorage:ConnectionString"] = azurite.ConnectionString,
            ["MailGateway:AzureStorage:ContentContainer"] = AzuriteServer.UniqueName("outbound-"),
            ["MailGateway:AzureStorage:StatusTable"] = AzuriteServer.UniqueName("status"),
            ["MailGateway:AzureStorage:IdempotencyTable"] = AzuriteServer.UniqueName("idem"),
            ["MailGateway:AzureStorage:SuppressionTable"] = AzuriteServer.UniqueName("supp"),
            ["MailGateway:AzureStorage:EventFeedTable"] = AzuriteServer.UniqueName("feed"),
            ["MailGateway:AzureStorage:WebhookTable"] = AzuriteServer.UniqueName("hooks"),
            ["MailGateway:ServiceBus:ConnectionString"] = "Endpoint=sb://127.0.0.1/;SharedAccessKeyName=test;SharedAccessKey=dGVzdA==",
            ["MailGateway:Api:MaxRequestBodyBytes"] = "65536",
            ["MailGateway:Api:Keys:0:Id"] = "key-1",
            ["MailGateway:Api:Keys:0:Sha256"] = Sha256(Key1),
            ["MailGateway:Api:Keys:0:AllowedSenderDomains:0"] = "example.com",
            ["MailGateway:Api:Keys:1:Id"] = "key-2",
            ["MailGateway:Api:Keys:1:Sha256"] = Sha256(Key2),
            ["MailGateway:Api:Keys:1:AllowedSenderDomains:0"] = "example.org",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        builder.AddMailGatewayFunctions();
        var sender = new RecordingSender();
        builder.Services.AddSingleton<IServiceBusJobSender>(sender);
        var deadLetters = new InMemoryServiceBus(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow));
        builder.Services.AddSingleton(deadLetters.DeadLetterQueue);
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseMailGatewayApiDefaults();
        app.MapMailGatewayApi();
        app.MapMailGatewayEventsApi();
        app.MapMailGatewaySuppressionsApi();
        app.MapMailGatewayWebhooksApi();
        app.MapServiceDefaults();
        await app.StartAsync();
        return new ApiHarness(app, sender, deadLetters);
    }

    /// <summary>The standalone host's way: the shared endpoints on Kestrel.</summary>
    public async Task<Answer> ViaStandaloneAsync(HttpMethod method, string path, string? body = null, string contentType = "application/json", IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return Normalize(
            (int)response.StatusCode,
            response.Content.Headers.ContentType?.ToString(),
            response.Headers.Location?.ToString(),
            response.Headers.WwwAuthenticate.ToString() is { Length: > 0 } w ? w : null,
            response.Headers.RetryAfter?.ToString(),
            text,
            response.Headers.TryGetValues("X-Content-Type-Options", out var options) ? string.Join(',', options) : null);
    }

    /// <summary>The Functions host's way: the trigger method called with an ASP.NET Core HttpContext, its IResult executed.</summary>
    public async Task<Answer> ViaFunctionsAsync(HttpMethod method, string path, string? body = null, string contentType = "application/json", IDictionary<string, string>? headers = null)
    {
        var context = new DefaultHttpContext { RequestServices = _app.Services };
        context.Request.Method = method.Method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("127.0.0.1");
        var queryStart = path.IndexOf('?', StringComparison.Ordinal);
        if (queryStart >= 0)
        {
            context.Request.QueryString = new QueryString(path[queryStart..]);
            path = path[..queryStart];
        }

        context.Request.Path = path;
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = contentType;
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            context.Request.Headers[name] = value;
        }

        using var responseBody = new MemoryStream();
        context.Response.Body = responseBody;

        IResult result;
        if (method == HttpMethod.Post && path.StartsWith(MessagesApi.MessagesPath + "/", StringComparison.Ordinal) && path.EndsWith("/cancel", StringComparison.Ordinal))
        {
            result = await Functions.CancelAsync(context.Request, path[(MessagesApi.MessagesPath.Length + 1)..^"/cancel".Length]);
        }
        else if (method == HttpMethod.Post && path == MessagesApi.MessagesPath + "/batch")
        {
            result = await Functions.SendBatchAsync(context.Request);
        }
        else if (method == HttpMethod.Post && path == MessagesApi.MessagesPath)
        {
            result = await Functions.SendAsync(context.Request);
        }
        else if (method == HttpMethod.Get && path == MessagesApi.MessagesPath)
        {
            result = await Functions.ListAsync(context.Request);
        }
        else if (path == MessagesApi.DeadLettersPath && method == HttpMethod.Get)
        {
            result = await Functions.ListDeadLettersAsync(context.Request);
        }
        else if (path.StartsWith(MessagesApi.DeadLettersPath + "/", StringComparison.Ordinal))
        {
            var rest = path[(MessagesApi.DeadLettersPath.Length + 1)..];
            result = method == HttpMethod.Post && rest == "replay"
                ? await Functions.ReplayDeadLettersAsync(context.Request)
                : method == HttpMethod.Post && rest == "purge"
                ? await Functions.PurgeDeadLettersAsync(context.Request)
                : method == HttpMethod.Post && rest.EndsWith("/replay", StringComparison.Ordinal)
                ? await Functions.ReplayDeadLetterAsync(context.Request, rest[..^"/replay".Length])
                : method == HttpMethod.Delete
                    ? await Functions.PurgeDeadLetterAsync(context.Request, rest)
                    : await Functions.GetDeadLetterAsync(context.Request, rest);
        }
        else if (method == HttpMethod.Get && path.StartsWith(MessagesApi.MessagesPath + "/", StringComparison.Ordinal) && path.EndsWith("/events", StringComparison.Ordinal))
        {
            result = await Functions.ListMessageEventsAsync(context.Request, path[(MessagesApi.MessagesPath.Length + 1)..^"/events".Length]);
        }
        else if (method == HttpMethod.Get && path == EventsApi.EventsPath)
        {
            result = await Functions.ListEventsAsync(context.Request);
        }
        else if (path == SuppressionsApi.Path)
        {
            result = method == HttpMethod.Post ? await Functions.AddSuppressionsAsync(context.Request) : await Functions.ListSuppressionsAsync(context.Request);
        }
        else if (method == HttpMethod.Delete && path.StartsWith(SuppressionsApi.Path + "/", StringComparison.Ordinal))
        {
            result = await Functions.RemoveSuppressionAsync(context.Request, Uri.UnescapeDataString(path[(SuppressionsApi.Path.Length + 1)..]));
        }
        else if (path == WebhooksApi.WebhooksPath)
        {
            result = method == HttpMethod.Post ? await Functions.CreateWebhookAsync(context.Request) : await Functions.ListWebhooksAsync(context.Request);
        }
        else if (path.StartsWith(WebhooksApi.WebhooksPath + "/", StringComparison.Ordinal))
        {
            var rest = path[(WebhooksApi.WebhooksPath.Length + 1)..];
            result = method == HttpMethod.Post && rest.EndsWith("/rotate-secret", StringComparison.Ordinal)
                ? await Functions.RotateWebhookSecretAsync(context.Request, rest[..^"/rotate-secret".Length])
                : method == HttpMethod.Patch
                ? await Functions.UpdateWebhookAsync(context.Request, rest)
                : method == HttpMethod.Delete
                    ? await Functions.DeleteWebhookAsync(context.Request, rest)
                    : await Functions.GetWebhookAsync(context.Request, rest);
        }
        else if (method == HttpMethod.Get && path.StartsWith(MessagesApi.MessagesPath + "/", StringComparison.Ordinal))
        {
            result = await Functions.GetAsync(context.Request, path[(MessagesApi.MessagesPath.Length + 1)..]);
        }
        else if (method == HttpMethod.Get && path == "/healthz")
        {
            result = MessagesFunctions.Health(context.Request);
        }
        else if (method == HttpMethod.Get && path == "/readyz")
        {
            result = await Functions.ReadyAsync(context.Request);
        }
        else
        {
            throw new ArgumentException("No function for " + method + " " + path, nameof(path));
        }

        await result.ExecuteAsync(context);
        var headersOut = context.Response.Headers;
        return Normalize(
            context.Response.StatusCode,
            context.Response.ContentType,
            headersOut.Location.ToString() is { Length: > 0 } l ? l : null,
            headersOut.WWWAuthenticate.ToString() is { Length: > 0 } w ? w : null,
            headersOut.RetryAfter.ToString() is { Length: > 0 } r ? r : null,
            Encoding.UTF8.GetString(responseBody.ToArray()),
            headersOut.XContentTypeOptions.ToString() is { Length: > 0 } o ? o : null);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public static Dictionary<string, string> Bearer(string key) => new() { ["Authorization"] = "Bearer " + key };

    private static Answer Normalize(int status, string? contentType, string? location, string? wwwAuthenticate, string? retryAfter, string body, string? contentTypeOptions)
    {
        string? id = null;
        var normalized = body;
        if (body.Length > 0 && (body[0] == '{' || body[0] == '['))
        {
            var json = JsonNode.Parse(body)!;
            if (json is JsonObject obj)
            {
                obj.Remove("traceId");
                if (obj["id"] is JsonValue idValue)
                {
                    id = idValue.GetValue<string>();
                    obj["id"] = "<id>";
                }

                foreach (var time in new[] { "createdAt", "updatedAt" })
                {
                    if (obj.ContainsKey(time))
                    {
                        obj[time] = "<time>";
                    }
                }
            }

            normalized = json.ToJsonString();
        }

        return new Answer(status, contentType, id is null ? location : location?.Replace(id, "<id>", StringComparison.Ordinal), wwwAuthenticate, retryAfter, normalized, id, contentTypeOptions);
    }

    public static string Sha256(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
