using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailGateway.Listener.Storage;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InboundMessageMetadata))]
internal sealed partial class MetadataJson : JsonSerializerContext
{
    public static byte[] Serialize(InboundMessageMetadata metadata) =>
        JsonSerializer.SerializeToUtf8Bytes(metadata, Default.InboundMessageMetadata);
}
