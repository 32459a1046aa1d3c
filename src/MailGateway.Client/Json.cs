using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailGateway.Client;

/// <summary>The answers' JSON: camelCase (the API's names), unknown properties ignored so a newer gateway can add fields.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AcceptedMessage))]
[JsonSerializable(typeof(MessageDetails))]
[JsonSerializable(typeof(MessagePage))]
[JsonSerializable(typeof(BatchResult))]
[JsonSerializable(typeof(EventPage))]
[JsonSerializable(typeof(WebhookEndpoint))]
[JsonSerializable(typeof(WebhookList))]
[JsonSerializable(typeof(WebhookSecret))]
[JsonSerializable(typeof(DeadLetter))]
[JsonSerializable(typeof(DeadLetterPage))]
[JsonSerializable(typeof(DeadLetterBulkResult))]
[JsonSerializable(typeof(MailGatewayProblem))]
[JsonSerializable(typeof(HealthAnswer))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;

/// <summary>The body of <c>GET /healthz</c> and <c>GET /readyz</c>.</summary>
internal sealed class HealthAnswer
{
    public string Status { get; init; } = "";
}

/// <summary>
/// Writes the body of <c>POST /api/v1/messages</c> by hand, so what goes on the wire is exactly the API's shape: null
/// properties and empty collections left out, an address without a name as a plain string, attachment bytes base64.
/// </summary>
internal static class EmailMessageJson
{
    public static byte[] Serialize(EmailMessage message)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (message.From is { } from)
            {
                writer.WritePropertyName("from");
                WriteAddress(writer, from);
            }

            WriteAddresses(writer, "to", message.To);
            WriteAddresses(writer, "cc", message.Cc);
            WriteAddresses(writer, "bcc", message.Bcc);
            WriteAddresses(writer, "replyTo", message.ReplyTo);
            WriteString(writer, "subject", message.Subject);
            WriteString(writer, "text", message.Text);
            WriteString(writer, "html", message.Html);
            if (message.Headers.Count > 0)
            {
                writer.WriteStartArray("headers");
                foreach (var header in message.Headers)
                {
                    ArgumentNullException.ThrowIfNull(header, nameof(message.Headers));
                    writer.WriteStartObject();
                    writer.WriteString("name", header.Name);
                    writer.WriteString("value", header.Value);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            if (message.Attachments.Count > 0)
            {
                writer.WriteStartArray("attachments");
                foreach (var attachment in message.Attachments)
                {
                    writer.WriteStartObject();
                    writer.WriteString("filename", attachment.Filename);
                    writer.WriteString("contentType", attachment.ContentType);
                    writer.WriteBase64String("content", attachment.Content.Span);
                    WriteString(writer, "contentId", attachment.ContentId);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            if (message.Tags.Count > 0)
            {
                writer.WriteStartArray("tags");
                foreach (var tag in message.Tags)
                {
                    writer.WriteStringValue(tag);
                }

                writer.WriteEndArray();
            }

            if (message.Metadata.Count > 0)
            {
                writer.WriteStartObject("metadata");
                foreach (var (key, value) in message.Metadata)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            if (message.SendAt is { } sendAt)
            {
                writer.WriteString("sendAt", sendAt);
            }

            if (message.ExpiresAt is { } expiresAt)
            {
                writer.WriteString("expiresAt", expiresAt);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteAddresses(Utf8JsonWriter writer, string name, IList<EmailAddress> addresses)
    {
        if (addresses.Count == 0)
        {
            return;
        }

        writer.WriteStartArray(name);
        foreach (var address in addresses)
        {
            ArgumentNullException.ThrowIfNull(address, name);
            WriteAddress(writer, address);
        }

        writer.WriteEndArray();
    }

    private static void WriteAddress(Utf8JsonWriter writer, EmailAddress address)
    {
        if (address.Name is null)
        {
            writer.WriteStringValue(address.Address);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("address", address.Address);
        writer.WriteString("name", address.Name);
        writer.WriteEndObject();
    }

    private static void WriteString(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
