using MailGateway.Api;
using MailGateway.Core;
using MailGateway.Core.Delivery;
using MailGateway.Embedded;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace MailGateway.Standalone;

/// <summary>Composition of the standalone gateway: API, SQLite queue and status, file store, worker, capture listener.</summary>
public static class StandaloneHostExtensions
{
    /// <summary>The address the API listens on when neither <c>Urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Registers every part of the standalone gateway.</summary>
    public static WebApplicationBuilder AddStandaloneGateway(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        var services = builder.Services;
        services.AddMailGatewayApi();
        services.AddEmbeddedDeliveryWorker();
        services.AddSmtpDelivery();
        services.AddOpenApi(openApi => openApi.AddOperationTransformer(OpenApiDocumentation.DescribeRequestBodyAsync));

        services.AddOptions<StandaloneOptions>().BindConfiguration(StandaloneOptions.SectionName)
            .PostConfigure(o =>
            {
                if (o.DevSenderDomains.Count == 0)
                {
                    o.DevSenderDomains.Add("example.com");
                }
            });
        services.AddOptions<CaptureOptions>().BindConfiguration(CaptureOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        // The request-size limit of the API is also Kestrel's streaming limit for every request.
        // Read from configuration directly: resolving the validated ApiOptions here would fail inside Build(), before
        // RunGatewayAsync can report a bad setting by name.
        var maxBody = builder.Configuration.GetValue<long?>($"{ApiOptions.SectionName}:{nameof(ApiOptions.MaxRequestBodyBytes)}") ?? new ApiOptions().MaxRequestBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBody);

        // No relay configured: deliver to the built-in capture listener on loopback, in clear.
        var relayConfigured = !string.IsNullOrWhiteSpace(builder.Configuration[$"{SmtpRelayOptions.SectionName}:Host"]);
        if (!relayConfigured)
        {
            services.AddSingleton(sp => new CapturePaths(Path.Combine(sp.GetRequiredService<IOptions<EmbeddedStorageOptions>>().Value.DataDirectory is var d ? Path.GetFullPath(d) : "", "capture")));
            services.AddHostedService<CaptureSmtpServer>();
            services.AddOptions<SmtpRelayOptions>().Configure<IOptions<CaptureOptions>>((relay, capture) =>
            {
                relay.Host = capture.Value.Host;
                relay.Endpoints = [new RelayEndpoint { Port = capture.Value.Port, Tls = RelayTlsMode.StartTls }];
                relay.TlsPolicy = RelayTlsPolicy.None;
            });
        }

        // No API key configured: a development key, generated once and kept in the data folder.
        var keysConfigured = builder.Configuration.GetSection($"{ApiOptions.SectionName}:Keys").GetChildren().Any();
        if (!keysConfigured)
        {
            services.AddSingleton(sp => DevApiKey.LoadOrCreate(Path.GetFullPath(sp.GetRequiredService<IOptions<EmbeddedStorageOptions>>().Value.DataDirectory)));
            services.AddOptions<ApiOptions>().Configure<DevApiKey, IOptions<StandaloneOptions>>((api, key, standalone) =>
                api.Keys.Add(new MailGateway.Api.ApiKeyOptions
                {
                    Id = DevApiKey.KeyId,
                    Sha256 = ApiKeyAuthenticator.HashKey(key.Key),
                    AllowedSenderDomains = [.. standalone.Value.DevSenderDomains],
                }));
        }

        services.AddSingleton(new StandaloneFlags(relayConfigured, keysConfigured));
        services.AddSingleton<DataDirectoryLock>();
        services.AddHostedService<StartupBanner>();
        return builder;
    }

    /// <summary>Maps the API, the OpenAPI document, the reference page and the error handler.</summary>
    public static WebApplication MapStandaloneGateway(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Never a stack trace in an answer, in any environment.
        app.UseExceptionHandler(error => error.Run(context =>
            ApiResults.Problem(StatusCodes.Status500InternalServerError, "Internal error", "The gateway could not process the request.").ExecuteAsync(context)));
        app.MapMailGatewayApi();
        app.MapOpenApi();
        app.MapScalarApiReference();
        return app;
    }

    /// <summary>Runs the host; an invalid setting stops it with the setting's name and exit code 2.</summary>
    public static async Task<int> RunGatewayAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            // Take the data folder's lock first: a second gateway on the same data would share its queue leases.
            app.Services.GetRequiredService<DataDirectoryLock>().Acquire();
            await app.RunAsync();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync(Describe(ex));
            return 2;
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            foreach (var inner in ex.InnerExceptions.Cast<OptionsValidationException>())
            {
                await Console.Error.WriteLineAsync(Describe(inner));
            }

            return 2;
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
        {
            // A value that does not parse (e.g. a TimeSpan): the binder's message names the setting.
            await Console.Error.WriteLineAsync("Invalid configuration: " + ex.Message);
            return 2;
        }
        catch (DataDirectoryLockedException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 3;
        }
    }

    /// <summary>"Invalid configuration in MailGateway:Worker: …" — the section comes from the options class's SectionName.</summary>
    internal static string Describe(OptionsValidationException exception)
    {
        var section = exception.OptionsType.GetField("SectionName")?.GetValue(null) as string ?? exception.OptionsType.Name;
        return $"Invalid configuration in {section}: {string.Join("; ", exception.Failures)}";
    }
}

/// <summary>What the host decided at start.</summary>
internal sealed record StandaloneFlags(bool RelayConfigured, bool KeysConfigured);
