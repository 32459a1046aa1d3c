namespace MailGateway.Core.Messages;

/// <summary>The machine-readable codes of <see cref="ValidationError"/>; stable, documented in the README.</summary>
public static class ValidationCodes
{
    /// <summary>A required value is missing or empty.</summary>
    public const string Required = "required";

    /// <summary>Not a syntactically valid address.</summary>
    public const string InvalidAddress = "invalid_address";

    /// <summary>Local-part longer than 64 octets (RFC 5321 §4.5.3.1.1).</summary>
    public const string LocalPartTooLong = "local_part_too_long";

    /// <summary>Domain longer than 255 octets (RFC 5321 §4.5.3.1.2).</summary>
    public const string DomainTooLong = "domain_too_long";

    /// <summary>Path longer than 256 octets including the angle brackets (RFC 5321 §4.5.3.1.3).</summary>
    public const string PathTooLong = "path_too_long";

    /// <summary>No To, Cc or Bcc recipient.</summary>
    public const string NoRecipients = "no_recipients";

    /// <summary>More recipients than the configured maximum.</summary>
    public const string TooManyRecipients = "too_many_recipients";

    /// <summary>Neither a text nor an html body.</summary>
    public const string BodyRequired = "body_required";

    /// <summary>CR, LF or NUL in a header value, display name or file name.</summary>
    public const string ForbiddenCharacters = "forbidden_characters";

    /// <summary>A custom header may not set a header the gateway owns (From, Date, Content-*, …).</summary>
    public const string ReservedHeader = "reserved_header";

    /// <summary>A header name with characters outside printable ASCII or with a colon.</summary>
    public const string InvalidHeaderName = "invalid_header_name";

    /// <summary>A content type that is not <c>type/subtype</c>.</summary>
    public const string InvalidContentType = "invalid_content_type";

    /// <summary>Two inline attachments with the same content-id.</summary>
    public const string DuplicateContentId = "duplicate_content_id";

    /// <summary>The composed message is larger than the configured maximum.</summary>
    public const string MessageTooLarge = "message_too_large";
}
