using System.Net;
using MailGateway.Client;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.UI.Services;
using Microsoft.Extensions.Options;

namespace MailGateway.Client.AspNetCore;

/// <summary>Who ASP.NET Core Identity's mail comes from, and its subjects and tags.</summary>
public sealed class MailGatewayEmailSenderOptions
{
    /// <summary>The sender address, e.g. <c>no-reply@example.com</c>; its domain must be one the API key may send from. Required.</summary>
    public string? From { get; set; }

    /// <summary>The sender's display name, e.g. <c>My App</c>.</summary>
    public string? FromName { get; set; }

    /// <summary>The subject of the email-confirmation mail.</summary>
    public string ConfirmationSubject { get; set; } = "Confirm your email";

    /// <summary>The subject of the password-reset mail (link or code).</summary>
    public string PasswordResetSubject { get; set; } = "Reset your password";

    /// <summary>Tags added to every message (visible in the gateway's status API); the kind of mail is added as a second tag.</summary>
    public IList<string> Tags { get; } = ["identity"];
}

/// <summary>
/// ASP.NET Core Identity's <see cref="IEmailSender{TUser}"/> over the gateway: confirmation links, password-reset
/// links and codes as text and HTML mail. Identity hands links and codes over HTML-encoded; the text part gets them
/// decoded. A refusal by the gateway surfaces as <see cref="MailGatewayException"/> (never a silent drop).
/// </summary>
/// <typeparam name="TUser">Identity's user type.</typeparam>
public sealed class MailGatewayEmailSender<TUser>(MailGatewayClient client, IOptions<MailGatewayEmailSenderOptions> options) : IEmailSender<TUser>
    where TUser : class
{
    /// <inheritdoc />
    public Task SendConfirmationLinkAsync(TUser user, string email, string confirmationLink) =>
        SendAsync(email, options.Value.ConfirmationSubject, "confirmation",
            $"Please confirm your account by opening this link:\r\n\r\n{WebUtility.HtmlDecode(confirmationLink)}\r\n",
            $"<p>Please confirm your account by <a href=\"{confirmationLink}\">clicking here</a>.</p>");

    /// <inheritdoc />
    public Task SendPasswordResetLinkAsync(TUser user, string email, string resetLink) =>
        SendAsync(email, options.Value.PasswordResetSubject, "password-reset",
            $"Reset your password by opening this link:\r\n\r\n{WebUtility.HtmlDecode(resetLink)}\r\n",
            $"<p>Reset your password by <a href=\"{resetLink}\">clicking here</a>.</p>");

    /// <inheritdoc />
    public Task SendPasswordResetCodeAsync(TUser user, string email, string resetCode) =>
        SendAsync(email, options.Value.PasswordResetSubject, "password-reset",
            $"Reset your password with this code: {WebUtility.HtmlDecode(resetCode)}\r\n",
            $"<p>Reset your password with this code: {resetCode}</p>");

    private Task SendAsync(string email, string subject, string kind, string text, string html) =>
        MailGatewayEmailSender.SendAsync(client, options.Value, email, subject, kind, text, html);
}

/// <summary>
/// The older <see cref="IEmailSender"/> (Identity UI, scaffolded pages) over the gateway: the given HTML as the body.
/// </summary>
public sealed class MailGatewayEmailSender(MailGatewayClient client, IOptions<MailGatewayEmailSenderOptions> options) : IEmailSender
{
    /// <inheritdoc />
    public Task SendEmailAsync(string email, string subject, string htmlMessage) =>
        SendAsync(client, options.Value, email, subject, "identity-ui", null, htmlMessage);

    internal static async Task SendAsync(MailGatewayClient client, MailGatewayEmailSenderOptions options, string email, string subject, string kind, string? text, string html)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(email);
        var message = new EmailMessage
        {
            From = new EmailAddress(options.From!, options.FromName),
            To = { email },
            Subject = subject,
            Text = text,
            Html = html,
        };
        foreach (var tag in options.Tags.Append(kind).Distinct(StringComparer.Ordinal))
        {
            message.Tags.Add(tag);
        }

        // Identity's interfaces carry no cancellation token; the gateway answers within milliseconds once it is reachable,
        // and the client's attempt timeout and retry budget bound the wait otherwise.
        await client.Messages.SendAsync(message, CancellationToken.None);
    }
}

/// <summary>Validates <see cref="MailGatewayEmailSenderOptions"/> at start.</summary>
internal sealed class MailGatewayEmailSenderOptionsValidator : IValidateOptions<MailGatewayEmailSenderOptions>
{
    public ValidateOptionsResult Validate(string? name, MailGatewayEmailSenderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.From) || options.From.IndexOf('@', StringComparison.Ordinal) <= 0)
        {
            failures.Add("MailGatewayEmailSenderOptions.From is required: the sender address, e.g. no-reply@example.com.");
        }

        if (string.IsNullOrWhiteSpace(options.ConfirmationSubject) || string.IsNullOrWhiteSpace(options.PasswordResetSubject))
        {
            failures.Add("MailGatewayEmailSenderOptions.ConfirmationSubject and PasswordResetSubject must not be empty.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
