using Microsoft.Extensions.Options;

namespace MailGateway.Client;

/// <summary>
/// Where the gateway is, the API key, and how calls are retried. Bound from configuration by
/// <c>services.AddMailGatewayClient(configuration.GetSection("MailGateway"))</c> and validated at start.
/// </summary>
public sealed class MailGatewayClientOptions
{
    /// <summary>The gateway's address, e.g. <c>https://mail.example.com</c> (a path prefix is kept: <c>https://example.com/mail/</c>). Required.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>The API key, sent as <c>Authorization: Bearer …</c>. Required; keep it in a secret store.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Retries after a 408, 429, 502, 503 or 504 answer, a network error or an attempt timeout (0–10; default 3). A send
    /// keeps its <c>Idempotency-Key</c> on every retry, so a retried send is delivered once.
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first pause between attempts; it doubles with every retry, with jitter (default 1 s). A <c>Retry-After</c> from the gateway replaces it.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause between attempts (default 30 s). An answer whose <c>Retry-After</c> asks for longer is not retried: the exception carries it.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one attempt may take, upload included (default 100 s); a timed-out attempt is retried.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(100);
}

/// <summary>Validates <see cref="MailGatewayClientOptions"/> with messages that name the setting.</summary>
internal sealed class MailGatewayClientOptionsValidator : IValidateOptions<MailGatewayClientOptions>
{
    private static readonly TimeSpan OneDay = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, MailGatewayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.BaseAddress is not { IsAbsoluteUri: true } address || (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add("MailGatewayClientOptions.BaseAddress is required: the gateway's absolute http(s) address, e.g. https://mail.example.com.");
        }

        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            failures.Add("MailGatewayClientOptions.ApiKey is required.");
        }
        else if (options.ApiKey.Any(c => c is < '!' or > '~'))
        {
            failures.Add("MailGatewayClientOptions.ApiKey must be printable ASCII without spaces.");
        }

        if (options.MaxRetries is < 0 or > 10)
        {
            failures.Add("MailGatewayClientOptions.MaxRetries must be between 0 and 10.");
        }

        if (options.RetryDelay < TimeSpan.Zero || options.RetryDelay > OneDay)
        {
            failures.Add("MailGatewayClientOptions.RetryDelay must be between 00:00:00 and 1.00:00:00.");
        }

        if (options.MaxRetryDelay <= TimeSpan.Zero || options.MaxRetryDelay > OneDay)
        {
            failures.Add("MailGatewayClientOptions.MaxRetryDelay must be more than 00:00:00 and at most 1.00:00:00.");
        }

        if (options.AttemptTimeout < TimeSpan.FromMilliseconds(10) || options.AttemptTimeout > OneDay)
        {
            failures.Add("MailGatewayClientOptions.AttemptTimeout must be between 00:00:00.010 and 1.00:00:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>For the constructors that take options directly: the same checks, as an <see cref="ArgumentException"/>.</summary>
    public static void ThrowIfInvalid(MailGatewayClientOptions options)
    {
        var result = new MailGatewayClientOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new ArgumentException(result.FailureMessage, nameof(options));
        }
    }
}

/// <summary>Options of one send.</summary>
public sealed class SendMessageOptions
{
    /// <summary>
    /// The <c>Idempotency-Key</c> (1–255 printable ASCII characters). The same key with the same message returns the
    /// original answer for at least 24 hours and the message is delivered once; with a different message the gateway
    /// answers 422 <c>idempotency_key_reused</c>. When null, a new key is generated for this send and reused on every retry.
    /// </summary>
    public string? IdempotencyKey { get; set; }
}
