using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailGateway.Listener.Storage;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InboundMessageMetadata))]
internal sealed partial class MetadataJson : JsonSerializerContext
{
    // A file for programs, not a web page: keep <, > and non-ASCII readable instead of \u escapes.
    private static readonly MetadataJson Relaxed = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public static byte[] Serialize(InboundMessageMetadata metadata) => JsonSerializer.SerializeToUtf8Bytes(metadata, Relaxed.InboundMessageMetadata);
}
