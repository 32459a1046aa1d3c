using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailGateway.Core.Inbound;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InboundMessageMetadata))]
internal sealed partial class MetadataJsonContext : JsonSerializerContext
{
}

/// <summary>The <c>{id}.json</c> written next to every inbound message, the same for every store.</summary>
public static class InboundMetadataJson
{
    // A file for programs, not a web page: keep <, > and non-ASCII readable instead of \u escapes.
    private static readonly MetadataJsonContext Relaxed = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>The metadata as indented UTF-8 JSON (web names, nulls left out).</summary>
    public static byte[] Serialize(InboundMessageMetadata metadata) => JsonSerializer.SerializeToUtf8Bytes(metadata, Relaxed.InboundMessageMetadata);
}
