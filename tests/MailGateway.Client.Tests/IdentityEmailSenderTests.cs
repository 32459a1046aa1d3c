using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.UI.Services;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace MailGateway.Client.Tests;

/// <summary>
/// An ASP.NET Core Identity app (MapIdentityApi, EF Core on a SQLite file, real Kestrel) whose mail goes through the
/// gateway to its capture; the confirmation link from the captured mail confirms the account.
/// </summary>
public sealed partial class IdentityEmailSenderTests
{
    [Fact]
    public async Task Registration_mail_goes_through_the_gateway_and_its_link_confirms_the_account_then_a_reset_code_arrives()
    {
        await using var gateway = await Gateway.StartAsync(capture: true);
        await using var app = await IdentityApp.StartAsync(gateway);
        const string email = "new.user@example.net";
        const string password = "Passw0rd!secure";

        var register = await app.Http.PostAsJsonAsync("/register", new { email, password });
        var mail = await CapturedAsync(gateway, 1);
        var link = WebUtility.HtmlDecode(ConfirmationLink().Match(mail.TextBody!).Value);
        var refusedLogin = await app.Http.PostAsJsonAsync("/login", new { email, password });
        var confirm = await app.Http.GetAsync(new Uri(link).PathAndQuery);
        var login = await app.Http.PostAsJsonAsync("/login", new { email, password });
        var forgot = await app.Http.PostAsJsonAsync("/forgotPassword", new { email });
        var reset = await CapturedAsync(gateway, 2);

        Assert.Equal(HttpStatusCode.OK, register.StatusCode);
        Assert.Equal("Confirm your email", mail.Subject);
        Assert.Equal("\"My App\" <no-reply@example.com>", mail.From.ToString());
        Assert.Equal(email, mail.To.Mailboxes.Single().Address);
        Assert.Contains($"href=\"{WebUtility.HtmlEncode(link)}\"", mail.HtmlBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, refusedLogin.StatusCode);
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal(HttpStatusCode.OK, forgot.StatusCode);
        Assert.Equal("Reset your password", reset.Subject);
        Assert.Matches("Reset your password with this code: [A-Za-z0-9_-]+", reset.TextBody);
    }

    [Fact]
    public async Task The_older_IEmailSender_sends_the_html_through_the_gateway()
    {
        await using var gateway = await Gateway.StartAsync(capture: true);
        await using var app = await IdentityApp.StartAsync(gateway);

        await app.Services.GetRequiredService<IEmailSender>().SendEmailAsync("someone@example.net", "Hello from the UI", "<p>Scaffolded <b>page</b></p>");
        var mail = await CapturedAsync(gateway, 1);

        Assert.Equal("Hello from the UI", mail.Subject);
        Assert.Equal("<p>Scaffolded <b>page</b></p>", mail.HtmlBody!.Trim());
        Assert.IsType<MailGateway.Client.AspNetCore.MailGatewayEmailSender<IdentityUser>>(app.Services.GetRequiredService<IEmailSender<IdentityUser>>());
    }

    [Fact]
    public async Task A_refusal_by_the_gateway_is_an_exception_not_a_silent_drop()
    {
        await using var gateway = await Gateway.StartAsync(capture: true);
        await using var app = await IdentityApp.StartAsync(gateway, from: "no-reply@not-allowed.example");

        var error = await Assert.ThrowsAsync<MailGatewayException>(() =>
            app.Services.GetRequiredService<IEmailSender<IdentityUser>>().SendConfirmationLinkAsync(new IdentityUser(), "someone@example.net", "https://app.example/confirm"));

        Assert.Equal(403, error.StatusCode);
        Assert.Empty(gateway.CapturedFiles());
    }

    private static async Task<MimeMessage> CapturedAsync(Gateway gateway, int count)
    {
        var files = await Eventually.TrueAsync(() => gateway.CapturedFiles() is { } f && f.Count >= count ? f : null, $"{count} captured message(s)");
        var messages = new List<MimeMessage>();
        foreach (var file in files)
        {
            messages.Add(await MimeMessage.LoadAsync(file));
        }

        return messages.OrderBy(m => m.Date).ThenBy(m => m.Subject, StringComparer.Ordinal).ElementAt(count - 1);
    }

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex ConfirmationLink();

    private sealed class IdentityApp : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly string _database;

        private IdentityApp(WebApplication app, string database)
        {
            _app = app;
            _database = database;
            Http = new HttpClient { BaseAddress = Loopback.AddressOf(app) };
        }

        public HttpClient Http { get; }

        public IServiceProvider Services => _app.Services;

        public static async Task<IdentityApp> StartAsync(Gateway gateway, string from = "no-reply@example.com")
        {
            var database = Path.Combine(Path.GetTempPath(), $"identity-{Guid.NewGuid():N}.db");
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();

            // The app's own wiring, as the README shows it.
            builder.Services.AddDbContext<UsersDb>(o => o.UseSqlite($"Data Source={database}"));
            builder.Services.AddIdentityApiEndpoints<IdentityUser>(o => o.SignIn.RequireConfirmedEmail = true).AddEntityFrameworkStores<UsersDb>();
            builder.Services.AddMailGatewayClient(o =>
            {
                o.BaseAddress = gateway.BaseAddress;
                o.ApiKey = Gateway.Key;
            });
            builder.Services.AddMailGatewayEmailSender(o =>
            {
                o.From = from;
                o.FromName = "My App";
            });
            var app = builder.Build();
            await using (var scope = app.Services.CreateAsyncScope())
            {
                await scope.ServiceProvider.GetRequiredService<UsersDb>().Database.EnsureCreatedAsync();
            }

            app.MapIdentityApi<IdentityUser>();
            await app.StartAsync();
            return new IdentityApp(app, database);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await _app.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(_database);
        }
    }

    private sealed class UsersDb(DbContextOptions<UsersDb> options) : IdentityDbContext<IdentityUser>(options);
}
