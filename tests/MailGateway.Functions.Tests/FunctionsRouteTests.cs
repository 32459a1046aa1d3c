using System.Reflection;
using System.Text.RegularExpressions;
using MailGateway.Api;
using MailGateway.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;

namespace MailGateway.Functions.Tests;

/// <summary>
/// The Functions host serves no OpenAPI document of its own: the standalone host's is the contract of both. That holds
/// while the HTTP triggers are exactly the routes the standalone host maps (and its contract test checks that every
/// mapped route is in its document); the parity tests check the answers.
/// </summary>
public sealed partial class FunctionsRouteTests
{
    [Fact]
    public async Task Http_triggers_are_exactly_the_routes_the_standalone_host_maps()
    {
        var triggers = typeof(MessagesFunctions).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
            .SelectMany(m => m.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).OfType<HttpTriggerAttribute>())
            .SelectMany(t => (t.Methods ?? []).Select(method => (method.ToUpperInvariant(), "/" + Parameter().Replace(t.Route ?? "", "{$1}").Trim('/'))))
            .ToHashSet();

        var builder = WebApplication.CreateBuilder();
        builder.AddServiceDefaults();
        builder.Services.AddMailGatewayApi();
        builder.Services.AddMailGatewayEventsApi();
        builder.Services.AddMailGatewayWebhooksApi();
        builder.Services.AddMailGatewaySuppressionsApi();
        await using var app = builder.Build();
        app.MapMailGatewayApi();
        app.MapMailGatewayEventsApi();
        app.MapMailGatewayWebhooksApi();
        app.MapMailGatewaySuppressionsApi();
        app.MapServiceDefaults();
        var mapped = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(method => (method.ToUpperInvariant(), "/" + Parameter().Replace(e.RoutePattern.RawText ?? "", "{$1}").Trim('/'))))
            .ToHashSet();

        Assert.Equal(mapped.Order(), triggers.Order());
    }

    [GeneratedRegex(@"\{([^}:=?]+)[^}]*\}")]
    private static partial Regex Parameter();
}
