namespace MailGateway.Core.Messages;

/// <summary>One problem with a submitted message. <paramref name="Field"/> is a JSON-style path such as <c>to[1].address</c>.</summary>
public sealed record ValidationError(string Field, string Code, string Message);
