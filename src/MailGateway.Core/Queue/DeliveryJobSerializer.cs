using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailGateway.Core.Queue;

/// <summary>
/// The one wire format of a <see cref="DeliveryJob"/>'s body, used by every queue (the SQLite <c>jobs.body</c> column,
/// the Service Bus message body): small, explicit, versioned JSON (<c>{"v":1,"id":…,"content":…,"mailFrom":…,
/// "recipients":[…],"attempt":…,"firstSeen":…,"expiresAt":…}</c>). A body this reader does not understand is a
/// <see cref="MalformedDeliveryJobException"/>, which the queues dead-letter at once. The trace context is not part of
/// the body: each queue carries it in its own metadata.
/// </summary>
/// <remarks>
/// Bodies written by earlier versions of the SQLite queue (the record serialised by reflection:
/// <c>version</c>, <c>messageId</c>, <c>contentReference</c>, …) are still read, so jobs already in a user's
/// <c>gateway.db</c> are delivered after an upgrade.
/// </remarks>
public static class DeliveryJobSerializer
{
    /// <summary>The current version of the body (<c>v</c>).</summary>
    public const int CurrentVersion = 1;

    /// <summary>The content type of a job body (set on every Service Bus job message).</summary>
    public const string ContentType = "application/vnd.mailgateway.delivery-job+json";

    /// <summary>The body of <paramref name="job"/> as UTF-8 JSON.</summary>
    public static byte[] SerializeToUtf8Bytes(DeliveryJob job) =>
        JsonSerializer.SerializeToUtf8Bytes(ToJson(job), DeliveryJobJsonContext.Default.DeliveryJobJson);

    /// <summary>The body of <paramref name="job"/> as a JSON string.</summary>
    public static string Serialize(DeliveryJob job) =>
        JsonSerializer.Serialize(ToJson(job), DeliveryJobJsonContext.Default.DeliveryJobJson);

    /// <summary>Reads a body; throws <see cref="MalformedDeliveryJobException"/> for anything but a complete job of a known version.</summary>
    public static DeliveryJob Deserialize(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return FromJson(JsonSerializer.Deserialize(utf8Json, DeliveryJobJsonContext.Default.DeliveryJobJson));
        }
        catch (JsonException ex)
        {
            throw NotJson(ex);
        }
    }

    /// <summary>Reads a body; throws <see cref="MalformedDeliveryJobException"/> for anything but a complete job of a known version.</summary>
    public static DeliveryJob Deserialize(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return FromJson(JsonSerializer.Deserialize(json, DeliveryJobJsonContext.Default.DeliveryJobJson));
        }
        catch (JsonException ex)
        {
            throw NotJson(ex);
        }
    }

    private static MalformedDeliveryJobException NotJson(JsonException ex) => new("The job body is not valid JSON: " + ex.Message, ex);

    private static DeliveryJobJson ToJson(DeliveryJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new DeliveryJobJson
        {
            V = CurrentVersion,
            Id = job.MessageId,
            Content = job.ContentReference,
            MailFrom = job.MailFrom,
            Recipients = [.. job.Recipients],
            Attempt = job.Attempt,
            FirstSeen = job.FirstSeen,
            ExpiresAt = job.ExpiresAt,
        };
    }

    private static DeliveryJob FromJson(DeliveryJobJson? json)
    {
        if (json is null)
        {
            throw new MalformedDeliveryJobException("The job body is empty (JSON null).");
        }

        var version = json.V ?? json.Version;
        if (version != CurrentVersion)
        {
            throw new MalformedDeliveryJobException(version is null
                ? "The job body has no version."
                : $"Unknown job version {version} (this worker reads version {CurrentVersion}).");
        }

        var id = json.Id ?? json.MessageId;
        var content = json.Content ?? json.ContentReference;
        var missing = new List<string>();
        if (string.IsNullOrWhiteSpace(id))
        {
            missing.Add("id");
        }

        if (string.IsNullOrWhiteSpace(content))
        {
            missing.Add("content");
        }

        if (json.MailFrom is null)
        {
            missing.Add("mailFrom");
        }

        if (json.Recipients is null || json.Recipients.Count == 0 || json.Recipients.Any(string.IsNullOrWhiteSpace))
        {
            missing.Add("recipients");
        }

        if (json.FirstSeen is null)
        {
            missing.Add("firstSeen");
        }

        if (json.Attempt is not >= 1)
        {
            missing.Add("attempt");
        }

        if (missing.Count > 0)
        {
            throw new MalformedDeliveryJobException("The job lacks valid fields: " + string.Join(", ", missing) + ".");
        }

        return new DeliveryJob
        {
            MessageId = id!,
            ContentReference = content!,
            MailFrom = json.MailFrom!,
            Recipients = json.Recipients!,
            Attempt = json.Attempt!.Value,
            FirstSeen = json.FirstSeen!.Value,
            ExpiresAt = json.ExpiresAt,
        };
    }
}

/// <summary>A queue message or row that is not a job this worker can read: it is dead-lettered, never retried.</summary>
public sealed class MalformedDeliveryJobException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MalformedDeliveryJobException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public MalformedDeliveryJobException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public MalformedDeliveryJobException() { }
}

/// <summary>The body as JSON; the legacy names (<see cref="Version"/>, <see cref="MessageId"/>, <see cref="ContentReference"/>) are read, never written.</summary>
internal sealed class DeliveryJobJson
{
    public int? V { get; set; }

    public string? Id { get; set; }

    public string? Content { get; set; }

    public string? MailFrom { get; set; }

    public List<string>? Recipients { get; set; }

    public int? Attempt { get; set; }

    public DateTimeOffset? FirstSeen { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public int? Version { get; set; }

    public string? MessageId { get; set; }

    public string? ContentReference { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DeliveryJobJson))]
internal sealed partial class DeliveryJobJsonContext : JsonSerializerContext;
