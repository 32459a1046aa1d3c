using MailGateway.Dashboard.Pages;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace MailGateway.Dashboard;

/// <summary>
/// Registration and mapping of the dashboard at <c>/ui</c>. The host registers what the pages read: the Core stores
/// (<see cref="MailGateway.Core.Status.IMessageStatusStore"/>, <see cref="MailGateway.Core.Status.IMessageOperations"/>,
/// <see cref="MailGateway.Core.Queue.IDeadLetterStore"/>, <see cref="MailGateway.Core.Events.IMessageEventStore"/>,
/// <see cref="MailGateway.Core.Storage.IMessageContentStore"/>, <see cref="MailGateway.Core.Status.IOperationsOverview"/>),
/// the API's keys and rate limits, an <see cref="IDashboardMail"/> and a <see cref="DashboardHostInfo"/>.
/// </summary>
public static class DashboardHostingExtensions
{
    /// <summary>The Content-Security-Policy of every dashboard page: nothing but this host's stylesheet, forms and frames.</summary>
    public const string PagePolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static void AddDashboard(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddRazorComponents();
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "mgw_csrf";
            antiforgery.Cookie.Path = DashboardOptions.Path;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.HttpOnly = true;
            antiforgery.FormFieldName = "__RequestVerificationToken";
            antiforgery.HeaderName = null;
            antiforgery.SuppressXFrameOptionsHeader = true;
        });
        services.AddAuthentication().AddCookie(DashboardAccess.Scheme);
        services.AddOptions<CookieAuthenticationOptions>(DashboardAccess.Scheme)
            .Configure<IOptions<DashboardOptions>>((cookie, dashboard) => DashboardAccess.ConfigureCookie(cookie, dashboard.Value));
        services.AddSingleton<DashboardAccess>();
        services.AddSingleton<DashboardRateLimiter>();
        services.AddSingleton<DashboardEndpoints>();
    }

    public static void MapDashboard(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<DashboardOptions>>().Value.Enabled)
        {
            return;
        }

        var ui = app.MapGroup(DashboardOptions.Path).ExcludeFromDescription();
        ui.AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = PagePolicy;
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()";
            // What antiforgery sets on a page with a token anyway (it logs a warning when it has to override another value).
            headers.CacheControl = "no-cache, no-store";
            headers.Pragma = "no-cache";
            try
            {
                return await next(invocation);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
            {
                return context.RequestServices.GetRequiredService<DashboardEndpoints>().Failure(context, ex);
            }
        });

        ui.MapGet("/", () => Results.Redirect("/ui/messages"));
        ui.MapGet("/app.css", DashboardEndpoints.Stylesheet);
        ui.MapGet("/sign-in", (HttpContext c, DashboardEndpoints d) => d.SignInPageAsync(c));
        ui.MapPost("/sign-in", (HttpContext c, DashboardEndpoints d) => d.SignInAsync(c));
        ui.MapPost("/sign-out", (HttpContext c, DashboardEndpoints d) => d.SignOutAsync(c));
        ui.MapGet("/messages", (HttpContext c, DashboardEndpoints d) => d.MessagesAsync(c));
        ui.MapGet("/messages/{id}", (HttpContext c, DashboardEndpoints d, string id) => d.MessageAsync(c, id));
        ui.MapGet("/messages/{id}/body.html", (HttpContext c, DashboardEndpoints d, string id) => d.MessageBodyAsync(c, id));
        ui.MapGet("/messages/{id}/raw", (HttpContext c, DashboardEndpoints d, string id) => d.MessageRawAsync(c, id));
        ui.MapGet("/messages/{id}/attachments/{index}", (HttpContext c, DashboardEndpoints d, string id, string index) => d.MessageAttachmentAsync(c, id, index));
        ui.MapPost("/messages/{id}/cancel", (HttpContext c, DashboardEndpoints d, string id) => d.CancelAsync(c, id));
        ui.MapGet("/dead-letters", (HttpContext c, DashboardEndpoints d) => d.DeadLettersAsync(c));
        ui.MapPost("/dead-letters/{id}/replay", (HttpContext c, DashboardEndpoints d, string id) => d.ReplayAsync(c, id));
        ui.MapPost("/dead-letters/{id}/purge", (HttpContext c, DashboardEndpoints d, string id) => d.PurgeAsync(c, id));
        ui.MapGet("/queue", (HttpContext c, DashboardEndpoints d) => d.QueueAsync(c));
        ui.MapGet("/mail", (HttpContext c, DashboardEndpoints d) => d.MailListAsync(c));
        ui.MapGet("/mail/{id}", (HttpContext c, DashboardEndpoints d, string id) => d.MailAsync(c, id));
        ui.MapGet("/mail/{id}/body.html", (HttpContext c, DashboardEndpoints d, string id) => d.MailBodyAsync(c, id));
        ui.MapGet("/mail/{id}/raw", (HttpContext c, DashboardEndpoints d, string id) => d.MailRawAsync(c, id));
        ui.MapGet("/mail/{id}/attachments/{index}", (HttpContext c, DashboardEndpoints d, string id, string index) => d.MailAttachmentAsync(c, id, index));
        ui.Map("/{**path}", (HttpContext c, DashboardEndpoints d) => d.UnknownAsync(c));
    }
}
