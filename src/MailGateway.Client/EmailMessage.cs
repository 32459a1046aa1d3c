namespace MailGateway.Client;

/// <summary>
/// A message to send with <see cref="MessagesClient.SendAsync(EmailMessage, CancellationToken)"/>: the body of
/// <c>POST /api/v1/messages</c>. Empty collections and null properties are left out of the request.
/// </summary>
/// <example>
/// <code>
/// var message = new EmailMessage
/// {
///     From = new EmailAddress("app@example.com", "My App"),
///     To = { "someone@example.net" },
///     Subject = "Hello",
///     Text = "It works.",
///     Attachments = { EmailAttachment.FromFile("invoice.pdf") },
/// };
/// </code>
/// </example>
public sealed class EmailMessage
{
    /// <summary>The sender; its domain must be one the API key may use (otherwise 403 <c>sender_not_allowed</c>).</summary>
    public EmailAddress? From { get; set; }

    /// <summary>Primary recipients. A string converts to an <see cref="EmailAddress"/>.</summary>
    public IList<EmailAddress> To { get; } = [];

    /// <summary>Carbon-copy recipients.</summary>
    public IList<EmailAddress> Cc { get; } = [];

    /// <summary>Blind recipients (envelope only, never a header).</summary>
    public IList<EmailAddress> Bcc { get; } = [];

    /// <summary>Reply-To addresses.</summary>
    public IList<EmailAddress> ReplyTo { get; } = [];

    /// <summary>The subject.</summary>
    public string? Subject { get; set; }

    /// <summary>The text/plain body. At least one of <see cref="Text"/> and <see cref="Html"/> is required.</summary>
    public string? Text { get; set; }

    /// <summary>The text/html body; reference an inline part as <c>cid:&lt;contentId&gt;</c>.</summary>
    public string? Html { get; set; }

    /// <summary>Custom headers (<c>X-…</c>, <c>List-Unsubscribe</c>, …); headers the gateway owns are refused (<c>reserved_header</c>).</summary>
    public IList<EmailHeader> Headers { get; } = [];

    /// <summary>Attachments and inline parts (an attachment with a content id is inline).</summary>
    public IList<EmailAttachment> Attachments { get; } = [];

    /// <summary>Tags for your own bookkeeping: returned by the status API, never sent.</summary>
    public IList<string> Tags { get; } = [];

    /// <summary>Metadata for your own bookkeeping: returned by the status API, never sent.</summary>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    /// <summary>Send no earlier than this time (the message is <c>scheduled</c> until then).</summary>
    public DateTimeOffset? SendAt { get; set; }

    /// <summary>Deliver by this time or give up (status <c>expired</c>).</summary>
    public DateTimeOffset? ExpiresAt { get; set; }
}

/// <summary>An email address with an optional display name. A string converts to one: <c>To = { "a@example.net" }</c>.</summary>
public sealed record EmailAddress
{
    /// <summary>Creates an address.</summary>
    /// <param name="address">The address, <c>local@domain</c>.</param>
    /// <param name="name">The display name, or null.</param>
    public EmailAddress(string address, string? name = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        Address = address;
        Name = name;
    }

    /// <summary>The address, <c>local@domain</c>.</summary>
    public string Address { get; }

    /// <summary>The display name, or null.</summary>
    public string? Name { get; }

    /// <summary>An address without a display name.</summary>
    public static implicit operator EmailAddress(string address) => new(address);

    /// <summary>An address without a display name (the named form of the implicit conversion).</summary>
    public static EmailAddress FromString(string address) => new(address);

    /// <inheritdoc />
    public override string ToString() => Name is null ? Address : $"\"{Name}\" <{Address}>";
}

/// <summary>A custom header.</summary>
/// <param name="Name">The header name, printable ASCII without spaces or colons.</param>
/// <param name="Value">The header value (no CR or LF).</param>
public sealed record EmailHeader(string Name, string Value);
