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

    /// <summary>A content-id that is not a msg-id MimeKit writes as given (it would throw, or rewrite it and break the <c>cid:</c> reference).</summary>
    public const string InvalidContentId = "invalid_content_id";

    /// <summary>The composed message is larger than the configured maximum.</summary>
    public const string MessageTooLarge = "message_too_large";

    /// <summary>A subject longer than <see cref="MessageLimitsOptions.MaxSubjectLength"/>.</summary>
    public const string SubjectTooLong = "subject_too_long";

    /// <summary>More custom headers than <see cref="MessageLimitsOptions.MaxHeaders"/>.</summary>
    public const string TooManyHeaders = "too_many_headers";

    /// <summary>A custom header value longer than <see cref="MessageLimitsOptions.MaxHeaderValueLength"/>.</summary>
    public const string HeaderValueTooLong = "header_value_too_long";

    /// <summary>A custom header that cannot be folded into lines of at most 998 octets (a very long word).</summary>
    public const string HeaderLineTooLong = "header_line_too_long";

    /// <summary>The composed header block is larger than <see cref="MessageLimitsOptions.MaxHeaderBytes"/>.</summary>
    public const string HeadersTooLarge = "headers_too_large";

    /// <summary>A display name, file name, content type or content-id longer than its limit.</summary>
    public const string ValueTooLong = "value_too_long";

    /// <summary>More tags than <see cref="MessageLimitsOptions.MaxTags"/>.</summary>
    public const string TooManyTags = "too_many_tags";

    /// <summary>A tag longer than <see cref="MessageLimitsOptions.MaxTagLength"/>.</summary>
    public const string TagTooLong = "tag_too_long";

    /// <summary>More metadata entries than <see cref="MessageLimitsOptions.MaxMetadataEntries"/>.</summary>
    public const string TooManyMetadataEntries = "too_many_metadata_entries";

    /// <summary>A metadata key longer than <see cref="MessageLimitsOptions.MaxMetadataKeyLength"/> (or empty).</summary>
    public const string MetadataKeyTooLong = "metadata_key_too_long";

    /// <summary>A metadata value longer than <see cref="MessageLimitsOptions.MaxMetadataValueLength"/>.</summary>
    public const string MetadataValueTooLong = "metadata_value_too_long";

    /// <summary>All metadata keys and values together longer than <see cref="MessageLimitsOptions.MaxMetadataTotalLength"/>.</summary>
    public const string MetadataTooLarge = "metadata_too_large";

    /// <summary>The composed message would not be valid SMTP data (a line over 998 octets).</summary>
    public const string UnsendableMessage = "unsendable_message";

    /// <summary>A date-time (<c>sendAt</c>, <c>expiresAt</c>) without a UTC offset or <c>Z</c>.</summary>
    public const string OffsetRequired = "offset_required";
}
