using System.Text.Json;
using System.Text.Json.Serialization;
using MailGateway.Core.Queue;

namespace MailGateway.AzureAdapters.ServiceBus;

/// <summary>
/// The JSON form of a <see cref="DeliveryJob"/> on the Service Bus queue: small, explicit, versioned. A body this
/// reader does not understand is a <see cref="MalformedDeliveryJobException"/> (the worker dead-letters it at once).
/// </summary>
public static class DeliveryJobSerializer
{
    /// <summary>The content type set on every job message.</summary>
    public const string ContentType = "application/vnd.mailgateway.delivery-job+json";

    /// <summary>Serializes a job to UTF-8 JSON.</summary>
    public static BinaryData Serialize(DeliveryJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var dto = new DeliveryJobJson
        {
            Version = job.Version,
            Id = job.MessageId,
            Content = job.ContentReference,
            MailFrom = job.MailFrom,
            Recipients = [.. job.Recipients],
            Attempt = job.Attempt,
            FirstSeen = job.FirstSeen,
            ExpiresAt = job.ExpiresAt,
        };
        return BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(dto, DeliveryJobJsonContext.Default.DeliveryJobJson));
    }

    /// <summary>Reads a job; throws <see cref="MalformedDeliveryJobException"/> for anything but a complete job of a known version.</summary>
    public static DeliveryJob Deserialize(BinaryData body)
    {
        ArgumentNullException.ThrowIfNull(body);
        DeliveryJobJson? dto;
        try
        {
            dto = JsonSerializer.Deserialize(body.ToMemory().Span, DeliveryJobJsonContext.Default.DeliveryJobJson);
        }
        catch (JsonException ex)
        {
            throw new MalformedDeliveryJobException("The job body is not valid JSON: " + ex.Message, ex);
        }

        if (dto is null)
        {
            throw new MalformedDeliveryJobException("The job body is empty (JSON null).");
        }

        if (dto.Version != DeliveryJob.CurrentVersion)
        {
            throw new MalformedDeliveryJobException($"Unknown job version {dto.Version} (this worker reads version {DeliveryJob.CurrentVersion}).");
        }

        var missing = new List<string>();
        if (string.IsNullOrWhiteSpace(dto.Id))
        {
            missing.Add("id");
        }

        if (string.IsNullOrWhiteSpace(dto.Content))
        {
            missing.Add("content");
        }

        if (dto.MailFrom is null)
        {
            missing.Add("mailFrom");
        }

        if (dto.Recipients is null || dto.Recipients.Count == 0 || dto.Recipients.Any(string.IsNullOrWhiteSpace))
        {
            missing.Add("recipients");
        }

        if (dto.FirstSeen is null)
        {
            missing.Add("firstSeen");
        }

        if (dto.Attempt < 1)
        {
            missing.Add("attempt");
        }

        if (missing.Count > 0)
        {
            throw new MalformedDeliveryJobException("The job lacks valid fields: " + string.Join(", ", missing) + ".");
        }

        return new DeliveryJob
        {
            Version = dto.Version,
            MessageId = dto.Id!,
            ContentReference = dto.Content!,
            MailFrom = dto.MailFrom!,
            Recipients = dto.Recipients!,
            Attempt = dto.Attempt,
            FirstSeen = dto.FirstSeen!.Value,
            ExpiresAt = dto.ExpiresAt,
        };
    }
}

/// <summary>A queue message that is not a job this worker can read: it is dead-lettered, never retried.</summary>
public sealed class MalformedDeliveryJobException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MalformedDeliveryJobException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public MalformedDeliveryJobException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public MalformedDeliveryJobException() { }
}

internal sealed class DeliveryJobJson
{
    [JsonPropertyName("v")]
    public int Version { get; set; }

    public string? Id { get; set; }

    public string? Content { get; set; }

    public string? MailFrom { get; set; }

    public List<string>? Recipients { get; set; }

    public int Attempt { get; set; }

    public DateTimeOffset? FirstSeen { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DeliveryJobJson))]
internal sealed partial class DeliveryJobJsonContext : JsonSerializerContext;
