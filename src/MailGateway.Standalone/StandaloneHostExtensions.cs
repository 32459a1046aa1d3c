using MailGateway.Api;
using MailGateway.Core;
using MailGateway.Core.Bounces;
using MailGateway.Core.Delivery;
using MailGateway.Core.Hosting;
using MailGateway.Core.Inbound;
using MailGateway.Core.Keys;
using MailGateway.Core.Queue;
using MailGateway.Dashboard;
using MailGateway.Embedded;
using MailGateway.Listener;
using MailGateway.Listener.Submission;
using MailGateway.ServiceDefaults;
using MailGateway.ServiceDefaults.Health;
using MailGateway.ServiceDefaults.Telemetry;
using MailGateway.Standalone.Dashboard;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace MailGateway.Standalone;

/// <summary>Composition of the standalone gateway: API, SQLite queue and status, file store, worker, SMTP listener.</summary>
public static class StandaloneHostExtensions
{
    /// <summary>The address the API listens on when neither <c>Urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>The inbound receiver's port when <c>MailGateway:Inbound:Endpoints</c> lists none.</summary>
    public const int DefaultInboundPort = 2525;

    /// <summary>The SMTP submission ports (STARTTLS, implicit TLS) on 127.0.0.1 when <c>MailGateway:Submission:Endpoints</c> lists none (587 and 465 need privileges).</summary>
    public const int DefaultSubmissionPort = 2587;

    /// <summary>The implicit-TLS submission port when <c>MailGateway:Submission:Endpoints</c> lists none.</summary>
    public const int DefaultSubmissionTlsPort = 2465;

    /// <summary>Registers every part of the standalone gateway.</summary>
    public static WebApplicationBuilder AddStandaloneGateway(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        var health = builder.AddServiceDefaults().AddMessagePortChecks();
        builder.AddQueueDepthMetrics<SqliteQueueDepthProbe>();
        var services = builder.Services;
        services.AddMailGatewayApi();
        services.AddMailGatewayEventsApi();
        services.AddMailGatewayWebhooksApi();
        services.AddMailGatewaySuppressionsApi();
        services.AddEmbeddedDeliveryWorker();
        services.AddEmbeddedWebhooks();
        services.AddOptions<HostOptions>()
            .Configure(host => host.ShutdownTimeout = DeliveryWorkerOptions.ReadDrainTimeout(builder.Configuration));
        services.AddSmtpDelivery();
        services.AddOpenApi(OpenApiDocumentation.Configure);

        services.AddOptions<StandaloneOptions>().BindConfiguration(StandaloneOptions.SectionName)
            .PostConfigure(o =>
            {
                if (o.DevSenderDomains.Count == 0)
                {
                    o.DevSenderDomains.Add("example.com");
                }
            });

        // The request-size limit of the API is also Kestrel's streaming limit for every request.
        // Read from configuration directly: resolving the validated ApiOptions here would fail inside Build(), before
        // RunGatewayAsync can report a bad setting by name.
        var maxBody = builder.Configuration.GetValue<long?>($"{ApiOptions.SectionName}:{nameof(ApiOptions.MaxRequestBodyBytes)}") ?? new ApiOptions().MaxRequestBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBody);

        // The SMTP listener: without a relay it is the capture the gateway delivers to; with a relay and inbound
        // domains it is the inbound receiver; otherwise there is none.
        var relayConfigured = !string.IsNullOrWhiteSpace(builder.Configuration[$"{SmtpRelayOptions.SectionName}:Host"]);
        var bounceDomain = builder.Configuration[$"{BounceOptions.SectionName}:{nameof(BounceOptions.Domain)}"];
        var inboundConfigured = builder.Configuration.GetSection($"{InboundListenerOptions.SectionName}:{nameof(InboundListenerOptions.Domains)}").GetChildren().Any()
            || !string.IsNullOrWhiteSpace(bounceDomain);
        var listener = !relayConfigured ? StandaloneListener.Capture : inboundConfigured ? StandaloneListener.Inbound : StandaloneListener.None;
        if (listener == StandaloneListener.Capture)
        {
            AddCapture(builder);
        }
        else if (listener == StandaloneListener.Inbound)
        {
            AddInboundReceiver(builder);
        }

        if (listener != StandaloneListener.None)
        {
            health.AddInboundStoreCheck();
            // The bounce domain on the listener; the recorder is SQLite's (AddEmbeddedDeliveryWorker).
            builder.AddInboundBounceProcessing();
        }

        // No API key configured: a development key, generated once and kept in the data folder.
        var keysConfigured = builder.Configuration.GetSection($"{ApiKeysOptions.SectionName}:{nameof(ApiKeysOptions.Keys)}").GetChildren().Any();
        if (!keysConfigured)
        {
            services.AddSingleton(sp => DevApiKey.LoadOrCreate(Path.GetFullPath(sp.GetRequiredService<IOptions<EmbeddedStorageOptions>>().Value.DataDirectory)));
            services.AddOptions<ApiKeysOptions>().Configure<DevApiKey, IOptions<StandaloneOptions>>((api, key, standalone) =>
                api.Keys.Add(new MailGateway.Core.Keys.ApiKeyOptions
                {
                    Id = DevApiKey.KeyId,
                    Sha256 = ApiKeyVerifier.HashKey(key.Key),
                    AllowedSenderDomains = [.. standalone.Value.DevSenderDomains],
                }));
        }

        // SMTP submission on loopback (the development certificate is generated for loopback only).
        services.AddSingleton<DevSmtpCertificate>();
        services.AddKeyedSingleton<IServerCertificateSource>(SubmissionListenerService.CertificateKey, (sp, _) => sp.GetRequiredService<DevSmtpCertificate>());
        builder.AddSubmissionListener("127.0.0.1", DefaultSubmissionPort, DefaultSubmissionTlsPort);

        services.AddSingleton(new StandaloneFlags(relayConfigured, keysConfigured, listener));
        services.AddSingleton(new DashboardHostInfo(DevelopmentKeyOnly: !keysConfigured));
        services.AddSingleton<IDashboardMail, MailFolder>();
        builder.AddDashboard();
        services.AddSingleton<DataDirectoryLock>();
        services.AddHostedService<StartupBanner>();
        return builder;
    }

    /// <summary>
    /// The listener as the capture: loopback only (MailGateway:Capture:Host, validated), any recipient domain, files
    /// under <c>{DataDirectory}/capture</c>; the relay is pointed at it in clear. The capture decides endpoint, size,
    /// recipients and store; the other MailGateway:Inbound settings (ServerName, limits, timeouts) still apply.
    /// </summary>
    private static void AddCapture(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<CaptureOptions>().BindConfiguration(CaptureOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddInboundListener();
        services.AddOptions<InboundListenerOptions>().Configure<IOptions<CaptureOptions>, IOptions<EmbeddedStorageOptions>>((inbound, capture, storage) =>
        {
            inbound.AcceptAllRecipients = true;
            inbound.Endpoints = [new InboundEndpointOptions { Address = capture.Value.Host, Port = capture.Value.Port }];
            inbound.MaxMessageSize = capture.Value.MaxMessageBytes;
            inbound.Store = InboundStoreKind.FileSystem;
            inbound.FileSystem.Path = Path.Combine(Path.GetFullPath(storage.Value.DataDirectory), "capture");
        });
        services.AddOptions<SmtpRelayOptions>().Configure<IOptions<CaptureOptions>>((relay, capture) =>
        {
            relay.Host = capture.Value.Host;
            relay.Endpoints = [new RelayEndpoint { Port = capture.Value.Port, Tls = RelayTlsMode.StartTls }];
            relay.TlsPolicy = RelayTlsPolicy.None;
        });
    }

    /// <summary>The listener as the inbound receiver (MX for MailGateway:Inbound:Domains), files under the data folder by default.</summary>
    private static void AddInboundReceiver(WebApplicationBuilder builder)
    {
        builder.AddInboundListener(DefaultInboundPort);
        if (string.IsNullOrWhiteSpace(builder.Configuration[$"{InboundListenerOptions.SectionName}:{nameof(InboundListenerOptions.FileSystem)}:{nameof(FileSystemStoreOptions.Path)}"]))
        {
            builder.Services.AddOptions<InboundListenerOptions>().Configure<IOptions<EmbeddedStorageOptions>>((inbound, storage) =>
                inbound.FileSystem.Path = Path.GetFullPath(storage.Value.DataDirectory));
        }
    }

    /// <summary>Maps the API, the health endpoints, the OpenAPI document, the reference page and the error handler.</summary>
    public static WebApplication MapStandaloneGateway(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Never a stack trace or an empty error in an answer, in any environment; nosniff; the rate limits.
        app.UseMailGatewayApiDefaults();
        app.MapMailGatewayApi();
        app.MapMailGatewayEventsApi();
        app.MapMailGatewayWebhooksApi();
        app.MapMailGatewaySuppressionsApi();
        app.MapServiceDefaults();
        app.MapDashboard();
        app.MapOpenApi();
        app.MapScalarApiReference(scalar => scalar
            .WithTitle(OpenApiDocumentation.Title)
            .AddPreferredSecuritySchemes("bearer"));
        return app;
    }

    /// <summary>
    /// Runs the host; an invalid setting or a damaged database (<see cref="DatabaseFileCheck"/>) stops it before it
    /// starts, with one line naming the setting or the file and exit code 2; a data folder in use stops it with 3.
    /// </summary>
    public static async Task<int> RunGatewayAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            // Take the data folder's lock first: a second gateway on the same data would share its queue leases.
            app.Services.GetRequiredService<DataDirectoryLock>().Acquire();

            // Then look at the database, read-only, before anything opens it for writing.
            var storage = app.Services.GetRequiredService<IOptions<EmbeddedStorageOptions>>().Value;
            if (DatabaseFileCheck.FindProblem(storage) is { } problem)
            {
                await Console.Error.WriteLineAsync(problem);
                return StartupValidation.InvalidConfigurationExitCode;
            }

            if (DatabaseFileCheck.NeedsFullCheckOffline(storage))
            {
                await Console.Out.WriteLineAsync(
                    $"The database {storage.DatabasePath} is larger than MailGateway:Storage:StartupQuickCheckMaxBytes: its header and schema were checked, not every page (run sqlite3 on it with PRAGMA quick_check while the gateway is stopped, or raise the limit).");
            }
        }
        catch (DataDirectoryLockedException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 3;
        }
        catch (Exception ex) when (StartupValidation.TryDescribe(ex, Console.Error))
        {
            // The lock reads the storage options: a bad one is reported by name.
            return StartupValidation.InvalidConfigurationExitCode;
        }

        return await app.RunServiceAsync();
    }

    /// <summary>"Invalid configuration in MailGateway:DeliveryWorker: …" — the section comes from the options class's SectionName.</summary>
    internal static string Describe(OptionsValidationException exception) => StartupValidation.Describe(exception);
}

/// <summary>What the host decided at start.</summary>
internal sealed record StandaloneFlags(bool RelayConfigured, bool KeysConfigured, StandaloneListener Listener);

/// <summary>The role of the SMTP listener in this process.</summary>
internal enum StandaloneListener
{
    /// <summary>A relay is configured and no inbound domains: no listener.</summary>
    None,

    /// <summary>No relay: the listener captures the gateway's own deliveries (loopback, any recipient).</summary>
    Capture,

    /// <summary>A relay and inbound domains: the listener receives mail for those domains.</summary>
    Inbound,
}
