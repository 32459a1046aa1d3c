namespace MailGateway.Core.Messages;

/// <summary>The SMTP envelope: the reverse path and the forward paths, independent of the headers.</summary>
public sealed record Envelope(string MailFrom, IReadOnlyList<string> Recipients);
